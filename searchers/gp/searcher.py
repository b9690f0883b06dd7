"""GPSearcher: the Ray Tune adapter around :class:`searchers.gp.core.GPCore`.

All of Ray's contract (metric/mode/space from the Tuner, points_to_evaluate, failures,
NaN, unknown ids, save/restore) comes from :class:`searchers.adapter.SpaceSearcher`; this
class adds the GP core: its settings and its one piece of state, the warm-start
hyperparameters, are saved and restored with the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from searchers.adapter import SpaceSearcher
from searchers.common.ray_names import SEED_ALIASES, STARTUP_ALIASES
from searchers.common.renamed import renamed_kwargs
from searchers.gp.core import GPCore


class GPSearcher(SpaceSearcher):
    """Gaussian-process Bayesian optimisation for Ray Tune.

    Args:
        space, metric, mode, points_to_evaluate, seed, resource_attr: as for every
            mftune searcher (see :class:`searchers.adapter.SpaceSearcher`).
        acquisition: "log-ei" (default; EI computed in log space, stable late in a run),
            "ei", or "ucb" (mean - kappa * sigma of the loss).
        kappa: UCB's exploration weight, in standard deviations.
        kappa_schedule: "constant" (kappa) or "srinivas" (GP-UCB's growing beta_t).
        n_startup_trials: random configurations before the GP takes over; also the number of
            observations a fidelity level needs before the GP is fitted on it.
        fidelity: "final" (default: each finished trial's last loss, so a trial an
            early-stopping scheduler cut off counts with its worse low-fidelity loss)
            or "highest" (fit on the highest resource level with n_startup_trials trials, as
            BOHB; trials stopped below it are left out). "final" won on the measured
            multi-fidelity problem (docs/benchmarks.md).
        max_points: most observations the posterior uses (best half kept, the rest a
            random sample) so a suggestion's cost stops growing.
        fit_points: most observations the hyperparameter fit uses (a random subset).
        fit_restarts: random starts screened for the hyperparameter fit.
        n_candidates: quasi-random candidates scored per suggestion.
        n_starts: points polished with L-BFGS-B (the incumbent and the best candidates).
        lengthscale_prior: "optuna" (default), "gamma" or "dim-scaled"; see
            :mod:`searchers.gp.hyper`.
        loss_warping: "none" (default: the losses standardized) or "yeo-johnson" (a power
            transform fitted to them first, for losses of very uneven scale such as narrow
            valleys); see :mod:`searchers.gp.warping`.
        prior_mean: "fitted" (default: the GP's constant mean is a hyperparameter) or
            "zero" (held at the standardized losses' mean, as Optuna's GPSampler); see
            :mod:`searchers.gp.hyper`.

    Ray's names are accepted (``random_state_seed``/``random_state`` for ``seed``,
    ``n_initial_points``/``random_search_steps`` for ``n_startup_trials``,
    ``evaluated_rewards`` for a warm start). **Differs from Ray's** ``BayesOptSearch``:
    ``seed=0`` (its ``random_state=42``), log-EI (its default utility is UCB with
    kappa 2.576), and integer/categorical/conditional parameters are modelled, not refused.
    """

    @renamed_kwargs(deprecated={"n_initial": "n_startup_trials"}, aliases={**SEED_ALIASES, **STARTUP_ALIASES})
    def __init__(
        self,
        space: Any = None,
        metric: str | Sequence[str] | None = None,
        mode: str | Sequence[str] | None = None,
        points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
        *,
        evaluated_rewards: Sequence[float] | None = None,
        seed: int = 0,
        resource_attr: str = "training_iteration",
        constraints: Sequence[Any] | None = None,
        acquisition: str = "log-ei",
        kappa: float = 2.0,
        kappa_schedule: str = "constant",
        n_startup_trials: int = 10,
        fidelity: str = "final",
        max_points: int = 1000,
        fit_points: int = 200,
        fit_restarts: int = 4,
        n_candidates: int = 1024,
        n_starts: int = 5,
        lengthscale_prior: str = "optuna",
        loss_warping: str = "none",
        prior_mean: str = "fitted",
    ):
        self.core = GPCore(
            acquisition=acquisition,
            kappa=kappa,
            kappa_schedule=kappa_schedule,
            n_startup_trials=n_startup_trials,
            fidelity=fidelity,
            max_points=max_points,
            fit_points=fit_points,
            fit_restarts=fit_restarts,
            n_candidates=n_candidates,
            n_starts=n_starts,
            lengthscale_prior=lengthscale_prior,
            loss_warping=loss_warping,
            prior_mean=prior_mean,
        )
        super().__init__(
            space,
            metric=metric,
            mode=mode,
            points_to_evaluate=points_to_evaluate,
            evaluated_rewards=evaluated_rewards,
            seed=seed,
            resource_attr=resource_attr,
            constraints=constraints,
        )

    def _propose(self, trial_id: str) -> dict[str, Any]:
        return self.core.propose(self._known_space, self.record, self.rng)

    def _extra_state(self) -> dict[str, Any]:
        return {"core": self.core}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.core = state["core"]
