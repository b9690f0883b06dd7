"""MO-ASHA's core: asynchronous successive halving that ranks each rung by the Pareto order.

The same core as :class:`schedulers.async_core.AsyncHyperband` (brackets, the stopping and
the promotion rule, the journal and its replay), with two things swapped: a result is a
vector (minimised objectives..., total constraint violation) rather than a loss, and the
rungs rank vectors (:class:`schedulers.pareto_rung.ParetoRung`), so "the top 1/eta of a
rung" is the first 1/eta of its Pareto order (Schmucker et al. 2021, MO-ASHA). A result
whose objectives are not all finite stops the trial, as a NaN loss does.

Pure: no Ray. The Ray face is :class:`schedulers.mo_asha.MOASHAScheduler`.
"""

from __future__ import annotations

import math
from typing import Any

from schedulers.async_core import AsyncHyperband
from schedulers.pareto_rung import ParetoRung, as_vector
from schedulers.promotion import PromotionRungs
from schedulers.stopping import StoppingRungs


class ParetoStoppingRungs(StoppingRungs):
    """The stopping rule over Pareto-ranked rungs: continue while in the first 1/eta."""

    rung_class = ParetoRung


class ParetoPromotionRungs(PromotionRungs):
    """The promotion rule over Pareto-ranked rungs: promote from the first 1/eta."""

    rung_class = ParetoRung


class ParetoAsyncHyperband(AsyncHyperband):
    """ASHA over ``n_objectives`` objectives (plus the violation) per result."""

    kind = "async-pareto"
    stopping_rungs = ParetoStoppingRungs
    promotion_rungs = ParetoPromotionRungs

    def __init__(
        self,
        min_resource: float,
        max_resource: float,
        reduction_factor: float,
        *,
        n_objectives: int,
        rule: str = "stopping",
        brackets: int = 1,
        seed: int = 0,
    ):
        if isinstance(n_objectives, bool) or not isinstance(n_objectives, int) or n_objectives < 1:
            raise ValueError(f"n_objectives must be an integer >= 1, got {n_objectives!r}")
        self.n_objectives = n_objectives
        super().__init__(min_resource, max_resource, reduction_factor, rule=rule, brackets=brackets, seed=seed)

    def _as_value(self, value: Any) -> Any:
        return list(as_vector(value, self.n_objectives + 1))

    def _finite(self, value: Any) -> bool:
        vec = as_vector(value, self.n_objectives + 1)
        return all(math.isfinite(v) for v in vec[:-1])

    def config(self) -> dict[str, Any]:
        return {**super().config(), "n_objectives": self.n_objectives}
