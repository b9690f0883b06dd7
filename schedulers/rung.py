"""One rung: the losses recorded at one milestone, kept sorted best first.

Losses are "smaller is better" (the scheduler negates a metric it maximises), so no
rule ever branches on the mode. A NaN, infinite or missing value is recorded as +inf:
the trial did reach the rung (it counts towards the rung's size, so the top 1/eta
stays honest) but ranks below every real result. Ties go to the earlier arrival, which
makes every decision reproducible from the order of events alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from sortedcontainers import SortedList

from searchers.common.checks import finite_or_none


def as_loss(value: Any) -> float:
    """A finite float, or +inf for NaN/inf/None/non-numbers."""
    v = finite_or_none(value)
    return math.inf if v is None else v


class Rung:
    """Sorted records ``(loss, arrival, trial_id)`` and the trials promoted from here."""

    def __init__(self, level: float):
        self.level = level
        # A sorted list with O(log n) insertion: a plain list's insort moves every record
        # behind the new one, which at 50,000 trials in one rung was most of a result's cost.
        self._records: SortedList = SortedList()
        self._by_trial: dict[str, tuple[float, int, str]] = {}
        self._arrivals = 0
        self.promoted: list[str] = []  # in promotion order

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, trial_id: str) -> bool:
        return trial_id in self._by_trial

    def __iter__(self) -> Iterator[str]:
        """Trial ids, best first."""
        return (tid for _, _, tid in self._records)

    def add(self, trial_id: str, loss: float) -> int:
        """Record ``trial_id``'s loss here once; return its 0-based rank (0 = best)."""
        if trial_id in self._by_trial:
            raise KeyError(f"trial {trial_id!r} is already recorded at rung {self.level:g}")
        record = (as_loss(loss), self._arrivals, trial_id)
        self._arrivals += 1
        self._by_trial[trial_id] = record
        self._records.add(record)
        return int(self._records.bisect_left(record))

    def discard(self, trial_id: str) -> None:
        record = self._by_trial.pop(trial_id, None)
        if record is not None:
            self._records.remove(record)

    def loss(self, trial_id: str) -> float:
        return self._by_trial[trial_id][0]

    def rank(self, trial_id: str) -> int:
        return int(self._records.bisect_left(self._by_trial[trial_id]))

    def top(self, k: int) -> list[str]:
        """The ``k`` best trial ids, best first."""
        return [tid for _, _, tid in self._records[: max(0, k)]]

    def is_promoted(self, trial_id: str) -> bool:
        return trial_id in self.promoted

    def promote(self, trial_id: str) -> None:
        if trial_id not in self._by_trial:
            raise KeyError(f"trial {trial_id!r} is not recorded at rung {self.level:g}")
        if trial_id not in self.promoted:
            self.promoted.append(trial_id)

    def describe(self, keep: int) -> str:
        if not self._records:
            return f"r={self.level:g}: empty"
        cutoff = self._records[min(keep, len(self._records)) - 1][0] if keep > 0 else None
        text = f"r={self.level:g}: {len(self._records)} best={self._records[0][0]:.4g}"
        if cutoff is not None:
            text += f" top{keep}<={cutoff:.4g}"
        if self.promoted:
            text += f" promoted={len(self.promoted)}"
        return text

    # ------------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "arrivals": self._arrivals,
            "promoted": list(self.promoted),
            "records": [[loss, arrival, tid] for loss, arrival, tid in self._records],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rung:
        rung = cls(data["level"])
        rung._arrivals = int(data["arrivals"])
        rung.promoted = list(data["promoted"])
        for loss, arrival, tid in data["records"]:
            record = (float(loss), int(arrival), str(tid))
            rung._by_trial[tid] = record
        rung._records.update(rung._by_trial.values())
        return rung


class Rungs:
    """The rungs of one bracket, lowest milestone first; subclasses add the rule."""

    #: the rung container (:class:`schedulers.pareto_rung.ParetoRung` for several objectives)
    rung_class: type[Rung] = Rung

    def __init__(self, levels: list[float], reduction_factor: float):
        self.levels = list(levels)
        self.reduction_factor = reduction_factor
        self.rungs = [self.rung_class(level) for level in self.levels]

    def keep(self, k: int) -> int:
        """How many of rung ``k``'s results are "in the top" under this rule."""
        raise NotImplementedError

    def describe(self) -> str:
        return " | ".join(rung.describe(self.keep(k)) for k, rung in enumerate(self.rungs)) or "no rungs"

    def to_dict(self) -> list[dict[str, Any]]:
        return [rung.to_dict() for rung in self.rungs]

    def load(self, data: list[dict[str, Any]]) -> None:
        if [d["level"] for d in data] != self.levels:
            raise ValueError(f"saved rungs at {[d['level'] for d in data]} do not match levels {self.levels}")
        self.rungs = [self.rung_class.from_dict(d) for d in data]
