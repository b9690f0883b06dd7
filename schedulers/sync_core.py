"""Synchronous Hyperband: brackets of successive halving that wait for their rungs.

New trials fill one open bracket at a time; brackets come in Hyperband's order, most
aggressive first (b = 0, 1, ..., then again), each with Hyperband's number of trials
(:func:`schedulers.levels.bracket_sizes`). A trial that reaches its milestone pauses
until its rung is complete (:mod:`schedulers.sync_bracket`); then the top 1/eta are
released and the others stopped. While a bracket waits, new trials fill the next one,
so slots idle only when no new trial may start. Nothing here is random: the order of
events decides everything.

If no new trial will come (the searcher is finished, or refuses while nothing runs),
the open bracket is closed at the trials it has: a bracket never waits forever.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from schedulers.core import CONTINUE, DONE, PAUSE, PAUSED, RUNNING, STOP, RungCore, TrialState
from schedulers.levels import bracket_sizes, check_brackets, describe_levels
from schedulers.sync_bracket import SyncBracket


class SyncHyperband(RungCore):
    """Synchronous Hyperband over the first ``brackets`` brackets (None: all of them)."""

    kind = "sync"

    def __init__(
        self, min_resource: float, max_resource: float, reduction_factor: float, *, brackets: int | None = None
    ):
        super().__init__(min_resource, max_resource, reduction_factor)
        n = len(self.levels) + 1 if brackets is None else brackets
        check_brackets(n, len(self.levels))
        self.sizes = bracket_sizes(len(self.levels), reduction_factor)[:n]
        self.instances: list[SyncBracket] = []

    # ----------------------------------------------------------------- choices
    def _assign(self, trial_id: str) -> int:
        current = self.instances[-1] if self.instances else None
        if current is None or not current.is_open():
            b = len(self.instances) % len(self.sizes)
            current = SyncBracket(len(self.instances), b, self.levels[b:], self.sizes[b], self.reduction_factor)
            self.instances.append(current)
        current.add(trial_id)
        return current.index

    def _milestones(self, t: TrialState) -> Sequence[float]:
        return self.instances[t.bracket].levels

    def _on_milestone(self, t: TrialState, k: int, loss: float) -> str:
        bracket = self.instances[t.bracket]
        bracket.arrive(t.trial_id, loss)
        if math.isinf(loss):
            self._done(t, "nan")
            decision = STOP
        else:
            t.status = PAUSED
            decision = PAUSE
        return self._settle(bracket, t, decision)

    def _settle(self, bracket: SyncBracket, current: TrialState | None = None, decision: str = STOP) -> str:
        """Complete every rung that can complete; return ``current``'s decision."""
        alive = lambda tid: self._trials[tid].status != DONE  # noqa: E731
        while (outcome := bracket.complete(alive)) is not None:
            go, stop = outcome
            for tid in go:
                t = self._trials[tid]
                if t is current:
                    t.status, decision = RUNNING, CONTINUE
                elif t.status == PAUSED:
                    self._promote(t)
            for tid in stop:
                t = self._trials[tid]
                if t is current:
                    if t.status != DONE:
                        self._done(t, "stopped")
                    decision = STOP
                elif t.status != DONE:
                    self._stop_later(t, "stopped")
        return decision

    def _on_finish(self, t: TrialState) -> None:
        bracket = self.instances[t.bracket]
        bracket.withdraw(t.trial_id)
        self._settle(bracket)

    def _readmit(self, t: TrialState) -> bool:
        return self.instances[t.bracket].readmit(t.trial_id)

    def on_search_finished(self) -> None:
        self._close_open()

    def on_stall(self, search_finished: bool) -> None:
        before = (len(self._queue), len(self._stops))
        self._close_open()
        if (len(self._queue), len(self._stops)) == before:
            # Cannot happen with consistent bookkeeping; never hang if it does.
            for t in self._trials.values():
                if t.status == PAUSED:
                    self._stop_later(t, "stalled")

    def _close_open(self) -> None:
        if self.instances and self.instances[-1].is_open():
            bracket = self.instances[-1]
            bracket.closed = True
            self.version += 1
            self._settle(bracket)

    # ------------------------------------------------------------ presentation
    def describe(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.status_counts().items())) or "no trials"
        head = (
            f"Hyperband (synchronous, eta={self.reduction_factor:g}, levels "
            f"{describe_levels(self.levels, self.max_resource)}, bracket sizes {self.sizes}): {counts}"
        )
        live = [b for b in self.instances if any(self._trials[t].status != DONE for t in b.members)]
        return "\n".join([head] + [f"  {b.describe()}" for b in live])

    # ------------------------------------------------------------- persistence
    def config(self) -> dict[str, Any]:
        return {**super().config(), "brackets": len(self.sizes)}

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "instances": [b.to_dict() for b in self.instances]}

    def load(self, data: dict[str, Any]) -> None:
        super().load(data)
        self.instances = [SyncBracket.from_dict(b, self.reduction_factor) for b in data["instances"]]
