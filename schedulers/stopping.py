"""The stopping rule of one ASHA bracket: continue while in the top 1/eta of the rung so far.

When a trial reaches a milestone its loss joins that rung; it continues iff it ranks
among the best ``max(1, floor(n / eta))`` of the ``n`` results recorded there so far
(itself included). The ``max(1, .)`` lets the first arrivals through: otherwise, with
trials arriving one by one, nothing would ever reach the top. A non-finite loss stops.
Decisions are never revisited, so a trial that continued early may later find itself
below the cut: that is the asynchronous trade (Li et al., 2020).
"""

from __future__ import annotations

import math
from typing import Any

from schedulers.levels import top_count
from schedulers.rung import Rungs


class StoppingRungs(Rungs):
    """Rungs of one bracket, deciding CONTINUE (True) or STOP (False) at each milestone."""

    def keep(self, k: int) -> int:
        return max(1, top_count(len(self.rungs[k]), self.reduction_factor))

    def decide(self, trial_id: str, k: int, loss: Any) -> bool:
        """Record ``loss`` at rung ``k``; True if the trial continues."""
        rank = self.rungs[k].add(trial_id, loss)
        return math.isfinite(self.rungs[k].loss(trial_id)) and rank < self.keep(k)
