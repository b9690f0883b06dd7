"""Model-based RL search as a function of the trial record (no Ray).

One suggestion:

1. until ``n_startup_trials`` real results exist, a uniform random configuration (as TPE
   and GP start), which the agent later learns from like any other episode;
2. when real results arrived since the last suggestion: rewards for every finished
   episode (:mod:`searchers.rl.rewards`, normalised by all real losses so far), one
   PPO-clip update on the most recent ``max_episodes`` of them; then, with a reward
   model, the model-based phase: refit the model on all real (configuration, reward)
   pairs and run up to ``horizon`` rounds of PPO on ``imagined_episodes`` fresh episodes
   of the current policy scored by the model, under the KL rule of
   :mod:`searchers.rl.horizon`;
3. one episode sampled from the stochastic policy: the configuration.

Trials in flight are episodes without a reward yet: they enter training when they
finish (the record keeps them), and since each suggestion is a fresh random draw,
parallel workers do not get the same configuration.

Under an early-stopping scheduler a trial's reward comes from ``fidelity`` (the rule of
searchers/gp/data.py): ``"final"`` (default), a trial's last reported loss whatever
rung it stopped at; or ``"highest"``, the losses at the highest rung with
``n_startup_trials`` results (BOHB's rule: a trial stopped below that rung gives no
reward, one stopped at or above it the loss it had there). On the multi-fidelity
Hartmann6, with the KL-guarded agent, "final" ended lower on average at every budget
(1.40 against 1.64 at 600 units, lower on 6 of 10 seeds, Wilcoxon p = 0.25:
benchmarks/rl_fidelity.py, docs/benchmarks.md), as it did for the GP; an earlier
3-seed run with the unguarded agent had pointed the other way. Without a stopping
scheduler both rules give every finished trial its final loss.

The state carried between suggestions (agent, optimizer, reward model, horizon, the
count of results trained on) is saved with the searcher, so a restored searcher
continues exactly as an uninterrupted one.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from searchers.gp import data
from searchers.gp.encoding import Encoding
from searchers.record import TrialRecord
from searchers.rl.horizon import HorizonRule, keep_round, next_horizon
from searchers.rl.policy import LSTMPolicy
from searchers.rl.ppo import PPOSettings, advantages, policy_kl, ppo_update
from searchers.rl.reward_model import make_reward_model
from searchers.rl.rewards import RewardScale
from searchers.rl.steps import StepPlan
from searchers.space import SearchSpace


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_float(name: str, value: Any, low: float, high: float = float("inf")) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")
    return float(value)


class RLCore:
    """The searcher's algorithm; see :class:`searchers.rl.searcher.RLSearcher` for the arguments."""

    def __init__(
        self,
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
    ):
        self.n_startup_trials = _check_int("n_startup_trials", n_startup_trials, 2)
        make_reward_model(reward_model)  # validates the name
        self.reward_model_name = reward_model
        RewardScale(np.zeros(1), reward_norm)  # validates the name
        self.reward_norm = reward_norm
        if fidelity not in data.FIDELITY_RULES:
            raise ValueError(f"fidelity must be one of {', '.join(data.FIDELITY_RULES)}, got {fidelity!r}")
        self.fidelity = fidelity
        self.lr = _check_float("lr", lr, 1e-12, 10.0)
        self.hidden = _check_int("hidden", hidden, 1)
        self.layers = _check_int("layers", layers, 1)
        self.init_sigma = _check_float("init_sigma", init_sigma, 1e-6, 1.0)
        self.min_sigma = _check_float("min_sigma", min_sigma, 1e-6, 1.0)
        self.ppo = PPOSettings(
            clip=_check_float("clip", clip, 1e-6, 1.0),
            epochs=_check_int("ppo_epochs", ppo_epochs, 1),
            entropy_coef=_check_float("entropy_coef", entropy_coef, 0.0),
            target_kl=None if target_kl is None else _check_float("target_kl", target_kl, 1e-9),
            lr_min=self.lr * 1e-3,
            lr_max=self.lr,
        )
        self.max_episodes = _check_int("max_episodes", max_episodes, 2)
        self.imagined_episodes = _check_int("imagined_episodes", imagined_episodes, 2)
        self.rule = HorizonRule(
            kl_low=_check_float("kl_low", kl_low, 0.0),
            kl_high=_check_float("kl_high", kl_high, 0.0),
            min_horizon=_check_int("min_horizon", min_horizon, 1),
            max_horizon=_check_int("max_horizon", max_horizon, 1),
        )
        self.horizon = _check_int("horizon", horizon, 1)
        self.param_order = None if param_order is None else tuple(param_order)
        #: real results the agent has been trained on (a new one triggers training)
        self.n_trained = 0
        #: last KL measured in a model-based phase (for inspection)
        self.last_kl = 0.0
        #: model-based rounds kept so far (a round the KL rule undoes is not counted)
        self.rounds_kept = 0
        self.model = make_reward_model(reward_model)
        self._space: SearchSpace | None = None
        self.plan: StepPlan | None = None
        self.policy: LSTMPolicy | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self._encoding: Encoding | None = None
        self._saved_nets: dict[str, Any] | None = None

    # ------------------------------------------------------------ persistence
    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("policy", "optimizer", "plan", "_encoding")}
        state["_space"] = None
        if self.policy is not None:
            assert self.optimizer is not None  # built together with the policy
            state["_saved_nets"] = {
                "policy": copy.deepcopy(self.policy.state_dict()),
                "optimizer": copy.deepcopy(self.optimizer.state_dict()),
            }
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.plan = self.policy = self.optimizer = self._encoding = None

    # ------------------------------------------------------------- the agent
    def agent(self, space: SearchSpace, gen: torch.Generator) -> LSTMPolicy:
        """The agent for ``space``, built on first use (or from a restored state)."""
        if self.policy is None or self._space is not space:
            self._space = space
            self.plan = StepPlan(space, self.param_order)
            # A restored agent's weights come from its state: initialise it from a throwaway
            # generator so the searcher's own stream is where it was when saved.
            init_gen = gen if self._saved_nets is None else torch.Generator().manual_seed(0)
            self.policy = LSTMPolicy(
                self.plan, init_gen, self.hidden, self.layers, init_sigma=self.init_sigma, min_sigma=self.min_sigma
            )
            self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=self.lr)
            self._encoding = Encoding(space)
            if self._saved_nets is not None:
                self.policy.load_state_dict(self._saved_nets["policy"])
                self.optimizer.load_state_dict(self._saved_nets["optimizer"])
                self._saved_nets = None
        return self.policy

    def _built(self) -> tuple[StepPlan, LSTMPolicy, torch.optim.Optimizer, Encoding]:
        """The agent's parts, once :meth:`agent` has built them."""
        assert self.plan is not None and self.policy is not None, "agent() first"
        assert self.optimizer is not None and self._encoding is not None, "agent() first"
        return self.plan, self.policy, self.optimizer, self._encoding

    # ------------------------------------------------------------ suggestions
    def propose(
        self, space: SearchSpace, record: TrialRecord, rng: np.random.Generator, gen: torch.Generator
    ) -> dict[str, Any]:
        """Flat values of the next configuration to try."""
        policy = self.agent(space, gen)
        chosen = data.select(record, self.fidelity, self.n_startup_trials)
        if chosen is None:
            return space.sample_flat(rng)
        if len(chosen.losses) != self.n_trained:
            self.learn(chosen.flats, chosen.losses, rng, gen)
            self.n_trained = len(chosen.losses)
        steps, _, _ = policy.sample(1, gen)
        plan = self._built()[0]
        return plan.decode(steps)[0]

    def learn(
        self, flats: list[dict[str, Any]], losses: np.ndarray, rng: np.random.Generator, gen: torch.Generator
    ) -> None:
        """One PPO update on the real episodes, then the model-based phase."""
        plan, policy, optimizer, _ = self._built()
        scale = RewardScale(losses, self.reward_norm)
        rewards = scale(losses)
        recent = slice(max(0, len(flats) - self.max_episodes), len(flats))
        steps = plan.encode(flats[recent])
        probe, _, _ = policy.sample(self.imagined_episodes, gen)  # where the KL guard measures
        adv = advantages(torch.as_tensor(rewards[recent])).float()
        ppo_update(policy, optimizer, steps, adv, self.ppo, probe)
        if self.model is not None:
            self._imagine(flats, rewards, rng, gen)

    def _imagine(
        self, flats: list[dict[str, Any]], rewards: np.ndarray, rng: np.random.Generator, gen: torch.Generator
    ) -> None:
        plan, policy, optimizer, enc = self._built()
        model = self.model
        assert model is not None  # learn() imagines only with a reward model
        model.fit(enc, enc.encode_many(flats), rewards, rng, gen)
        probe, probe_logp, _ = policy.sample(self.imagined_episodes, gen)  # the pre-model policy's episodes
        kl = 0.0
        for _ in range(self.horizon):
            before = (copy.deepcopy(policy.state_dict()), copy.deepcopy(optimizer.state_dict()))
            imagined, _, _ = policy.sample(self.imagined_episodes, gen)
            predicted = model.predict(enc.encode_many(plan.decode(imagined)))
            ppo_update(policy, optimizer, imagined, advantages(torch.as_tensor(predicted)).float(), self.ppo, probe)
            with torch.no_grad():
                kl = policy_kl(probe_logp, policy.evaluate(probe)[0])
            if not keep_round(kl, self.rule):
                policy.load_state_dict(before[0])
                optimizer.load_state_dict(before[1])
                break
            self.rounds_kept += 1
        self.last_kl = kl
        self.horizon = next_horizon(self.horizon, kl, self.rule)
