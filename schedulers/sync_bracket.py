"""One synchronous successive-halving bracket: a rung completes, then its top 1/eta go on.

The bracket takes ``capacity`` trials at its first milestone. A rung is complete when
every trial expected there has *arrived*: reported at the milestone, or ended in any
other way (failed, errored, stopped by the user or by Tune), which counts as arriving
with loss +inf. So a bracket never waits for a trial that will not come back, the
failure that leaves Ray's HyperBand with paused trials forever (ray #6780, #14500).
Then the best ``max(1, floor(n / eta))`` of the ``n`` expected trials, among those
with a finite loss that are still alive, go on to the next milestone; the rest stop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from schedulers.levels import top_count
from schedulers.rung import Rung


class SyncBracket:
    def __init__(self, index: int, bracket: int, levels: Sequence[float], capacity: int, reduction_factor: float):
        self.index = index  # position among all brackets opened so far
        self.bracket = bracket  # 0 = most aggressive (first milestone levels[0])
        self.levels = list(levels)
        self.capacity = capacity
        self.reduction_factor = reduction_factor
        self.members: list[str] = []
        self.expected: list[str] = []  # trials that must arrive at the current rung
        self.rung = 0  # the rung being filled; len(levels): survivors run to the end
        self.rungs = [Rung(level) for level in self.levels]
        self.closed = False  # no more members, even if below capacity

    def is_open(self) -> bool:
        """Whether new trials may still join (only while the first rung is filling)."""
        return not self.closed and len(self.members) < self.capacity and self.rung == 0

    def add(self, trial_id: str) -> None:
        if not self.is_open():
            raise ValueError(f"bracket {self.index} takes no more trials")
        self.members.append(trial_id)
        self.expected.append(trial_id)

    def arrive(self, trial_id: str, loss: float) -> None:
        if self.rung >= len(self.rungs) or trial_id not in self.expected:
            raise KeyError(f"trial {trial_id!r} is not expected at a rung of bracket {self.index}")
        self.rungs[self.rung].add(trial_id, loss)

    def withdraw(self, trial_id: str) -> None:
        """The trial ended before its milestone: it arrives with loss +inf."""
        if self.rung < len(self.rungs) and trial_id in self.expected and trial_id not in self.rungs[self.rung]:
            self.rungs[self.rung].add(trial_id, math.inf)

    def readmit(self, trial_id: str) -> bool:
        """Undo :meth:`withdraw` for a retried trial, if its rung has not been decided yet."""
        if self.rung >= len(self.rungs):
            return trial_id in self.expected
        rung = self.rungs[self.rung]
        if trial_id in self.expected and trial_id in rung and math.isinf(rung.loss(trial_id)):
            rung.discard(trial_id)
            return True
        return False

    def keep(self) -> int:
        return max(1, top_count(len(self.expected), self.reduction_factor))

    def complete(self, alive: Callable[[str], bool]) -> tuple[list[str], list[str]] | None:
        """If the current rung is complete: advance and return (go on, stop), else None."""
        if self.rung >= len(self.rungs) or self.is_open():
            return None
        rung = self.rungs[self.rung]
        if any(tid not in rung for tid in self.expected):
            return None
        ranked = [tid for tid in rung if math.isfinite(rung.loss(tid)) and alive(tid)]
        go = ranked[: self.keep()]
        stop = [tid for tid in self.expected if tid not in go]
        self.rung += 1
        self.expected = go
        return go, stop

    def describe(self) -> str:
        where = f"rung {self.rung}" if self.rung < len(self.rungs) else "final"
        head = (
            f"bracket {self.index} (b={self.bracket}, {len(self.members)}/{self.capacity} trials"
            f"{', closed' if self.closed else ''}, at {where}, waiting for {len(self.expected)})"
        )
        rungs = " | ".join(r.describe(max(1, top_count(len(r), self.reduction_factor))) for r in self.rungs)
        return head + (": " + rungs if rungs else "")

    # ------------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "bracket": self.bracket,
            "levels": self.levels,
            "capacity": self.capacity,
            "members": self.members,
            "expected": self.expected,
            "rung": self.rung,
            "closed": self.closed,
            "rungs": [r.to_dict() for r in self.rungs],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], reduction_factor: float) -> SyncBracket:
        inst = cls(data["index"], data["bracket"], data["levels"], data["capacity"], reduction_factor)
        inst.members = list(data["members"])
        inst.expected = list(data["expected"])
        inst.rung = int(data["rung"])
        inst.closed = bool(data["closed"])
        inst.rungs = [Rung.from_dict(r) for r in data["rungs"]]
        return inst
