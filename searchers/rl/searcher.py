"""RLSearcher: the Ray Tune adapter around :class:`searchers.rl.core.RLCore`.

Ray's contract (metric/mode/space from the Tuner, points_to_evaluate, failures, NaN,
unknown ids, save/restore) comes from :class:`searchers.adapter.SpaceSearcher`. This
class adds what the agent needs beyond it: its own ``torch.Generator`` (saved and
restored with the numpy generator, so a restored searcher suggests what an
uninterrupted one would), and a cap on torch's threads (and, for the GP reward model,
numpy's BLAS threads: searchers/gp/threads.py) while it computes, because it runs
inside the Tune driver next to the trials.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

try:
    import torch
except ImportError as err:  # the core install has no torch; the searchers that need none still work
    raise ImportError("RLSearcher needs torch: pip install 'mftune[pipeline]' (or pip install torch)") from err

from searchers.adapter import SpaceSearcher
from searchers.common.ray_names import SEED_ALIASES, STARTUP_ALIASES
from searchers.common.renamed import renamed_kwargs
from searchers.gp.threads import single_blas_thread
from searchers.rl.core import RLCore
from searchers.rl.threads import torch_threads


class RLSearcher(SpaceSearcher):
    """Model-based reinforcement-learning search (Wu, Chen & Liu, Neurocomputing 2020).

    An LSTM agent chooses a configuration's parameters one step at a time (following the
    branch it chose in a conditional space), trained with PPO-clip on the real results
    and, between them, on imagined episodes scored by a learned reward model for as many
    rounds as a KL-controlled horizon allows.

    Args:
        space, metric, mode, points_to_evaluate, seed, resource_attr: as for every
            mftune searcher (see :class:`searchers.adapter.SpaceSearcher`).
        n_startup_trials: uniform random configurations before the agent takes over.
        reward_model: "gp" (default: the GP posterior mean), "mlp" (an MLP ensemble) or
            "none" (pure PPO on real results: the ablation).
        reward_norm: "rank" (default) or "zscore"; see :mod:`searchers.rl.rewards`.
        fidelity: under an early-stopping scheduler, "final" (default: a stopped
            trial's last loss) or "highest" (rewards are the losses at the highest rung
            with enough results, BOHB's rule); measured in docs/benchmarks.md, see
            :mod:`searchers.rl.core`.
        lr: Adam's learning rate (the paper's 0.007).
        hidden, layers: LSTM size (the paper's 35 units, 3 layers).
        init_sigma, min_sigma: a numeric step's initial and smallest standard deviation
            in the [-1, 1] action range (the floor keeps exploring; 0.005 stalled).
        clip, ppo_epochs, entropy_coef: PPO-clip's settings.
        target_kl: the KL one PPO update aims at, measured on fresh episodes: an update
            stops after the epoch that passes 1.5x it, and the learning rate adapts
            (between ``lr / 1000`` and ``lr``); see :mod:`searchers.rl.ppo`. None: four
            epochs at a fixed ``lr``, which moved the policy so far per update that the
            KL rule undid every model-based round.
        max_episodes: most recent real episodes each PPO update uses. Small on purpose:
            re-fitting every update on all episodes so far (off-policy, each pushed down
            again by up to ``clip`` per update) collapsed the policy's spread within ~20
            updates on the held-out problem; 24 also bounds the cost.
        imagined_episodes: episodes per model-based round.
        horizon, min_horizon, max_horizon, kl_low, kl_high: the model-use horizon and its
            KL rule; see :mod:`searchers.rl.horizon`.
        param_order: the order the agent chooses parameters in (default: the space's);
            a branch's categorical must come before the branch's parameters.
        n_threads: torch threads while the agent computes (the caller's setting is
            restored afterwards).
    """

    @renamed_kwargs(aliases={**SEED_ALIASES, **STARTUP_ALIASES})
    def __init__(
        self,
        space: Any = None,
        metric: str | None = None,
        mode: str | None = None,
        points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
        *,
        evaluated_rewards: Sequence[float] | None = None,
        seed: int = 0,
        resource_attr: str = "training_iteration",
        n_startup_trials: int = 10,
        reward_model: str = "gp",
        reward_norm: str = "rank",
        fidelity: str = "final",
        lr: float = 0.007,
        hidden: int = 35,
        layers: int = 3,
        init_sigma: float = 0.5,
        min_sigma: float = 0.02,
        clip: float = 0.2,
        ppo_epochs: int = 4,
        entropy_coef: float = 0.0,
        target_kl: float | None = 0.01,
        max_episodes: int = 24,
        imagined_episodes: int = 64,
        horizon: int = 2,
        min_horizon: int = 1,
        max_horizon: int = 8,
        kl_low: float = 1e-3,
        kl_high: float = 0.05,
        param_order: Sequence[str] | None = None,
        n_threads: int = 1,
    ):
        if isinstance(n_threads, bool) or not isinstance(n_threads, int) or n_threads < 1:
            raise ValueError(f"n_threads must be an integer >= 1, got {n_threads!r}")
        self.n_threads = n_threads
        self.core = RLCore(
            n_startup_trials=n_startup_trials,
            reward_model=reward_model,
            reward_norm=reward_norm,
            fidelity=fidelity,
            lr=lr,
            hidden=hidden,
            layers=layers,
            init_sigma=init_sigma,
            min_sigma=min_sigma,
            clip=clip,
            ppo_epochs=ppo_epochs,
            entropy_coef=entropy_coef,
            target_kl=target_kl,
            max_episodes=max_episodes,
            imagined_episodes=imagined_episodes,
            horizon=horizon,
            min_horizon=min_horizon,
            max_horizon=max_horizon,
            kl_low=kl_low,
            kl_high=kl_high,
            param_order=param_order,
        )
        super().__init__(
            space,
            metric=metric,
            mode=mode,
            points_to_evaluate=points_to_evaluate,
            evaluated_rewards=evaluated_rewards,
            seed=seed,
            resource_attr=resource_attr,
        )
        self.torch_rng = torch.Generator().manual_seed(seed)

    def _propose(self, trial_id: str) -> dict[str, Any]:
        with torch_threads(self.n_threads), single_blas_thread():
            return self.core.propose(self._known_space, self.record, self.rng, self.torch_rng)

    def _extra_state(self) -> dict[str, Any]:
        return {"core": self.core, "torch_rng": self.torch_rng.get_state(), "n_threads": self.n_threads}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.core = state["core"]
        self.torch_rng = torch.Generator()
        self.torch_rng.set_state(state["torch_rng"])
        self.n_threads = state["n_threads"]
