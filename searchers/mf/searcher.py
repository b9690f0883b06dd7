"""MFGPSearcher: the Ray Tune adapter around :class:`searchers.mf.core.MFCore`.

Ray's contract (metric/mode/space, failures, NaN, unknown ids, save/restore) comes from
:class:`searchers.adapter.SpaceSearcher`, which already records every intermediate
result (``on_trial_result``) per resource level; this class adds the core and its state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from searchers.adapter import SpaceSearcher
from searchers.common.ray_names import SEED_ALIASES, STARTUP_ALIASES
from searchers.common.renamed import renamed_kwargs
from searchers.mf.core import MFCore


class MFGPSearcher(SpaceSearcher):
    """Multi-fidelity GP search (Hyper-Tune / MOBSTER) for ASHA and Hyperband schedulers.

    Pair it with a scheduler that stops or promotes at rungs (mftune's ``ASHAScheduler``,
    ``HyperbandScheduler``, Ray's ``AsyncHyperBandScheduler``...): the searcher learns from
    every rung's results, the scheduler decides which trials go on.

    Args:
        space, metric, mode, points_to_evaluate, seed, resource_attr: as for every
            mftune searcher (see :class:`searchers.adapter.SpaceSearcher`).
        model: "joint" (default: one GP over configuration and log resource,
            MOBSTER-style) or "hypertune" (one GP per rung, weighted by how well each
            rung ranks the highest rung's trials). "joint" had 0.78 x Hyper-Tune's mean
            regret (geometric mean over 6 held-out problems, docs/benchmarks.md).
        min_resource, max_resource, reduction_factor: the scheduler's rungs
            (``min_resource * reduction_factor^k``, and ``max_resource``); they must match
            it (Ray's ASHA: ``grace_period``, ``max_t``, ``reduction_factor``), or the
            searcher sees results only where the two sets of levels happen to meet.
        n_startup_trials: trials with a result before the model takes over.
        min_rung_points: observations a rung needs to get a model.
        n_bootstrap: resamples for the rung weights.
        max_points, fit_points, fit_restarts, n_candidates, n_starts, lengthscale_prior:
            as for :class:`searchers.gp.GPSearcher` (``max_points`` per rung).
        max_pending: most trials in flight the model conditions on (kriging believer).
        target_level: where the joint model's acquisition looks: "max" (``max_resource``)
            or "populated" (the highest rung level with at least ``max(6, dims + 1)``
            observations, MOBSTER's and Syne Tune's ``resource_acq="bohb"``: early in a
            run the top rung holds few trials and its slice is an extrapolation).
            ``model="joint"`` only.
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
        model: str = "joint",
        min_resource: float = 1,
        max_resource: float = 81,
        reduction_factor: float = 3,
        n_startup_trials: int = 10,
        min_rung_points: int = 4,
        n_bootstrap: int = 100,
        max_points: int = 300,
        fit_points: int = 150,
        fit_restarts: int = 2,
        n_candidates: int = 512,
        n_starts: int = 4,
        max_pending: int = 32,
        lengthscale_prior: str = "optuna",
        target_level: str = "max",
    ):
        self.core = MFCore(
            model=model,
            min_resource=min_resource,
            max_resource=max_resource,
            reduction_factor=reduction_factor,
            n_startup_trials=n_startup_trials,
            min_rung_points=min_rung_points,
            n_bootstrap=n_bootstrap,
            max_points=max_points,
            fit_points=fit_points,
            fit_restarts=fit_restarts,
            n_candidates=n_candidates,
            n_starts=n_starts,
            max_pending=max_pending,
            lengthscale_prior=lengthscale_prior,
            target_level=target_level,
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

    def _propose(self, trial_id: str) -> dict[str, Any]:
        return self.core.propose(self._known_space, self.record, self.rng)

    def level_weights(self) -> dict[float, float]:
        """Resource level -> how well that level's model ranked the configurations of the
        highest level with data, as of the last suggestion (``model="hypertune"``; empty for
        the joint model, which weighs no levels). ``HyperbandScheduler(synchronous=False,
        learn_brackets=True)`` draws brackets by these weights (Hyper-Tune's bracket choice)."""
        return dict(self.core.weights)

    def _extra_state(self) -> dict[str, Any]:
        return {"core": self.core}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.core = state["core"]
