"""``MOASHAScheduler``: multi-objective ASHA (MO-ASHA) for Ray Tune, stopping or promotion.

Ray's schedulers take one metric (ray#8018, #18027) and Optuna cannot prune
multi-objective studies; MO-ASHA (Schmucker et al. 2021) ranks each rung by non-dominated
sorting instead. The core is :class:`schedulers.pareto_core.ParetoAsyncHyperband` (the rung
order is documented in :mod:`schedulers.pareto_rung`); everything Ray-facing, including the
journaled state that survives ``Tuner.restore``, is :class:`ASHAScheduler`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from schedulers.pareto_core import ParetoAsyncHyperband
from schedulers.ray_adapter import RungTrialScheduler
from searchers.common.objectives import parse_objectives
from searchers.common.ray_names import SCHEDULER_ALIASES, check_stop_last_trials
from searchers.common.renamed import renamed_kwargs


class MOASHAScheduler(RungTrialScheduler):
    """Asynchronous successive halving over several objectives, with optional constraints.

    Args:
        metric, mode: parallel lists, ``metric=["val_accuracy", "params"], mode=["max", "min"]``
            (Ray's multi-objective convention, as ``OptunaSearch`` takes them). They belong
            to the scheduler: ``tune.TuneConfig`` may name one of the metrics (for
            ``ResultGrid.get_best_result``) but not others.
        constraints: optional ``["params <= 50000", ...]``; infeasible results rank below
            every feasible one, by total violation.
        resource_attr, min_resource, max_resource, reduction_factor, brackets, rule, seed,
        state_path, stop_last_trials: as for :class:`schedulers.ASHAScheduler` (Ray's names
            ``time_attr``, ``max_t``, ``grace_period`` too). ``brackets`` > 1 with
            ``rule="promotion"`` and :class:`searchers.TPESearcher` given the same metrics is
            multi-objective BOHB (asynchronous, as :func:`schedulers.make_bohb`'s default).
    """

    @renamed_kwargs(aliases=SCHEDULER_ALIASES)
    def __init__(
        self,
        metric: Sequence[str],
        mode: Sequence[str],
        *,
        constraints: Sequence[Any] | None = None,
        resource_attr: str = "training_iteration",
        min_resource: float = 1,
        max_resource: float = 81,
        reduction_factor: float = 3,
        brackets: int = 1,
        rule: str = "stopping",
        seed: int = 0,
        state_path: str | None = None,
        stop_last_trials: bool = True,
    ):
        check_stop_last_trials(type(self).__name__, stop_last_trials)
        if not isinstance(metric, (list, tuple)) or not isinstance(mode, (list, tuple)):
            raise ValueError(
                f"MOASHAScheduler takes metric and mode as lists (e.g. metric=['acc', 'params'], "
                f"mode=['max', 'min']), got metric={metric!r}, mode={mode!r}; for one metric use ASHAScheduler"
            )
        objectives = parse_objectives(list(metric), list(mode), constraints, always=True)
        assert objectives is not None  # always=True
        self.objectives = objectives
        core = ParetoAsyncHyperband(
            min_resource,
            max_resource,
            reduction_factor,
            n_objectives=len(objectives.pairs),
            rule=rule,
            brackets=brackets,
            seed=seed,
        )
        super().__init__(
            core,
            metric=objectives.metrics[0],
            mode=objectives.modes[0],
            resource_attr=resource_attr,
            state_path=state_path,
        )

    @property
    def metrics(self) -> list[str]:
        return self.objectives.metrics

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        """TuneConfig may repeat one of our metrics with its mode; anything else conflicts."""
        if metric is None and mode is None:
            return True
        pairs = dict(self.objectives.pairs)
        if isinstance(metric, (list, tuple)):
            return list(metric) == self.objectives.metrics and (mode is None or list(mode) == self.objectives.modes)
        if metric is not None and metric not in pairs:
            return False
        return mode is None or metric is None or pairs[metric] == mode

    def _result_value(self, result: dict[str, Any]) -> Any:
        if not any(m in result for m in self.objectives.metrics):
            return None
        return list(self.objectives.vector(result))

    def _snapshot_state(self) -> dict[str, Any]:
        return {
            **super()._snapshot_state(),
            "objectives": [list(p) for p in self.objectives.pairs],
            "constraints": [list(c) for c in self.objectives.constraints],
        }
