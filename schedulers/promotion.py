"""The promotion rule of one ASHA bracket: pause at the rung, promote the top 1/eta later.

A trial that reaches a milestone is recorded there and waits. Whenever a worker slot
frees, the best waiting trial that is among the top ``floor(n / eta)`` of its rung and
not yet promoted goes on to the next milestone (from the highest rung down, as in
ASHA's ``get_job``); only if there is none does a new trial start. Unlike the stopping
rule nothing is decided on too little evidence: with fewer than eta results a rung
promotes nobody (Li et al., 2020, Algorithm 2).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

from schedulers.levels import top_count
from schedulers.rung import Rungs


class PromotionRungs(Rungs):
    """Rungs of one bracket with promotion bookkeeping."""

    def keep(self, k: int) -> int:
        return top_count(len(self.rungs[k]), self.reduction_factor)

    def record(self, trial_id: str, k: int, loss: Any) -> None:
        self.rungs[k].add(trial_id, loss)

    def candidates(self, waiting: Callable[[str], bool]) -> Iterator[tuple[int, str]]:
        """``(rung, trial)`` pairs that may be promoted now, highest rung first, best first.

        ``waiting(trial_id)`` says whether the trial is paused and alive (a stopped or
        failed trial keeps its record, and its place in the top, but cannot go on).
        """
        for k in reversed(range(len(self.rungs))):
            rung = self.rungs[k]
            for trial_id in rung.top(self.keep(k)):
                if not rung.is_promoted(trial_id) and math.isfinite(rung.loss(trial_id)) and waiting(trial_id):
                    yield k, trial_id

    def promote(self, k: int, trial_id: str) -> None:
        self.rungs[k].promote(trial_id)
