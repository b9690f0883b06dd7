"""``TPESearcher``: the Ray Tune face of :class:`searchers.tpe.core.TPECore`.

All Ray bookkeeping (metric/mode, failures, NaN, unknown ids, warm starts, persistence)
lives in :class:`searchers.adapter.SpaceSearcher`; this class only keeps the core's
observation table in step with the trial record after each callback that changes it.
The table is derived state, so ``save`` stores the settings and ``restore`` rebuilds the
table from the restored record: nothing can disagree after a restore.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from searchers.adapter import SpaceSearcher
from searchers.common.ray_names import SEED_ALIASES, STARTUP_ALIASES
from searchers.common.renamed import renamed_kwargs
from searchers.tpe.core import TPECore, TPESettings


class TPESearcher(SpaceSearcher):
    """Tree-structured Parzen estimator: multivariate, conditional, parallel-aware and
    multi-fidelity (fits on the highest resource level with enough results).

    Args:
        space, metric, mode, points_to_evaluate, seed: as for every mftune searcher.
        resource_attr: result key counting fidelity (the scheduler's ``time_attr``); the
            model is fitted on results at one level of it.
        n_startup_trials, n_candidates, gamma, max_good, prior_weight, min_bandwidth,
        full_weight_window, min_points_in_level, constant_liar, max_observations,
        multivariate: see
            :class:`searchers.tpe.core.TPESettings`.

    Ray's names are accepted (``random_state_seed``/``random_state`` for ``seed``,
    ``n_initial_points`` for ``n_startup_trials``, ``evaluated_rewards`` with
    ``points_to_evaluate`` for a warm start). **Defaults that differ** from Ray's
    ``HyperOptSearch``: ``n_startup_trials=10`` (its ``n_initial_points=20``) and
    ``gamma=0.1`` (its 0.25); from ``OptunaSearch``'s TPE sampler: ``gamma=0.1`` with
    ``max_good=25`` (Optuna: ``min(ceil(0.1 n), 25)``, the same) and multivariate
    kernels (Optuna's default is independent ones). ``seed=0``, not None.
    """

    @renamed_kwargs(deprecated={"n_ei_candidates": "n_candidates"}, aliases={**SEED_ALIASES, **STARTUP_ALIASES})
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
        n_startup_trials: int = 10,
        n_candidates: int = 24,
        gamma: float = 0.1,
        max_good: int = 25,
        prior_weight: float = 1.0,
        min_bandwidth: float = 0.01,
        full_weight_window: int = 25,
        min_points_in_level: int | None = None,
        constant_liar: bool = True,
        max_observations: int | None = 2000,
        multivariate: bool | None = None,
    ):
        self.settings = TPESettings(
            n_startup_trials=n_startup_trials,
            n_candidates=n_candidates,
            gamma=gamma,
            max_good=max_good,
            prior_weight=prior_weight,
            min_bandwidth=min_bandwidth,
            full_weight_window=full_weight_window,
            min_points_in_level=min_points_in_level,
            constant_liar=constant_liar,
            max_observations=max_observations,
            multivariate=multivariate,
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
        self._core_cache: TPECore | None = None

    @property
    def core(self) -> TPECore | None:
        """The core for the current space (rebuilt from the record when the space changes)."""
        if self.space is None:
            return None
        core = self._core_cache
        if core is None or core.space is not self.space or core.settings is not self.settings:
            core = TPECore(self.space, self.settings)
            for obs in self.record:
                core.observe(obs)
            self._core_cache = core
        return core

    def _propose(self, trial_id: str) -> dict[str, Any]:
        core = self.core
        assert core is not None  # suggest() proposes only once the space is known
        return core.propose(self.rng)

    def _record_changed(self, trial_id: str) -> None:
        obs = self.record.get(trial_id)
        if obs is not None and self._core_cache is not None:
            core = self.core
            assert core is not None  # a cached core means the space is known
            core.observe(obs)

    def _record_replaced(self) -> None:
        self._core_cache = None  # warm starts are rare: rebuild from the record when next needed

    # ------------------------------------------------------------ persistence
    def _extra_state(self) -> dict[str, Any]:
        return {"settings": dataclasses.asdict(self.settings)}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.settings = TPESettings(**state["settings"])
        self._core_cache = None
