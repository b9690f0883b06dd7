"""The pure rung core: what ASHA and Hyperband share, with no Ray in sight.

A core sees a handful of events (a trial is added, reports a result, ends) and answers
each result with CONTINUE, PAUSE or STOP. Trials it wants resumed wait in
:meth:`RungCore.runnable`; paused trials it wants stopped wait in
:meth:`RungCore.take_stops`. The Ray adapter and the benchmark simulator drive the same
object, and its whole state round-trips through :meth:`to_dict` so a restored run takes
no decision twice.

Replay rules, which make a restore from a stale snapshot safe: a trial the core has
stopped is told STOP again; a trial the core has paused, but that runs anyway (Ray
makes every unfinished trial PENDING on restore), may catch up to the milestone where
it paused and is then paused again, and if that extra step reached its next milestone
the result is kept for it (so it is recorded there with the value an uninterrupted run
would have seen); a result below an already recorded milestone is never recorded twice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from schedulers.levels import check_resources, reached, rung_levels
from schedulers.rung import as_loss
from searchers.common.enums import StrEnum


class Decision(StrEnum):
    """What the core tells the adapter to do with a trial after a result."""

    CONTINUE = "CONTINUE"
    PAUSE = "PAUSE"
    STOP = "STOP"


class TrialStatus(StrEnum):
    """A scheduler's view of a trial."""

    RUNNING = "running"  # started (or about to be), allowed to run to its next milestone
    PAUSED = "paused"  # waiting at a milestone
    PROMOTED = "promoted"  # allowed to go on, waiting for a slot
    DONE = "done"  # will never run again


CONTINUE, PAUSE, STOP = Decision.CONTINUE, Decision.PAUSE, Decision.STOP
RUNNING, PAUSED, PROMOTED, DONE = TrialStatus.RUNNING, TrialStatus.PAUSED, TrialStatus.PROMOTED, TrialStatus.DONE

# The public methods that change a core's state: the adapter journals each call that did.
EVENTS = (
    "add",
    "on_result",
    "finish",
    "revive",
    "on_search_finished",
    "on_stall",
    "take_stops",
    "set_level_weights",
)


@dataclass(slots=True)  # one per trial: slots keep 50,000 of them small
class TrialState:
    trial_id: str
    bracket: int  # index of the bracket (async) or of the bracket instance (sync)
    status: str = RUNNING
    next_rung: int = 0  # index into its bracket's milestones of the next decision
    reason: str = ""  # why DONE: completed, stopped, nan, error, removed, lost, ...
    # [rung, loss]: the first result at or past the next milestone, reported while paused
    # (Ray reruns paused trials after a restore); recorded there once the trial goes on.
    early: list[Any] | None = None


_FIELDS = tuple(f.name for f in fields(TrialState))


class RungCore:
    """Trial table and event handling; subclasses decide at milestones."""

    kind = ""

    def __init__(self, min_resource: float, max_resource: float, reduction_factor: float):
        check_resources(min_resource, max_resource, reduction_factor)
        self.min_resource = min_resource
        self.max_resource = max_resource
        self.reduction_factor = reduction_factor
        self.levels = rung_levels(min_resource, max_resource, reduction_factor)
        self._trials: dict[str, TrialState] = {}
        self._queue: list[str] = []  # PROMOTED trials, in promotion order
        self._stops: list[str] = []  # trials stopped by the core while not running
        self.version = 0  # bumped on every state change: the adapter persists when it moves

    # ------------------------------------------------------------------ queries
    def __contains__(self, trial_id: str) -> bool:
        return trial_id in self._trials

    def trial(self, trial_id: str) -> TrialState:
        return self._trials[trial_id]

    def trials(self) -> list[TrialState]:
        return list(self._trials.values())

    def runnable(self) -> list[str]:
        """Trials allowed to resume, oldest promotion first."""
        return list(self._queue)

    def take_stops(self) -> list[str]:
        """Trials the core stopped while they were paused; the caller must stop them."""
        stops, self._stops = self._stops, []
        return stops

    def milestones(self, trial_id: str) -> list[float]:
        return list(self._milestones(self._trials[trial_id]))

    # ------------------------------------------------------------------- events
    def add(self, trial_id: str) -> TrialState:
        if trial_id in self._trials:
            raise KeyError(f"trial {trial_id!r} was already added")
        state = TrialState(trial_id, self._assign(trial_id))
        self._trials[trial_id] = state
        self.version += 1
        return state

    def on_result(self, trial_id: str, resource: float, value: Any) -> str:
        """Decide on one result; ``value`` is a loss (NaN or None: the worst possible)."""
        t = self._trials[trial_id]
        if t.status == DONE:
            return STOP
        levels = self._milestones(t)
        if t.status == PAUSED:  # running although paused here: catch up, then pause again
            if t.next_rung > 0 and not reached(resource, levels[t.next_rung - 1]):
                return CONTINUE
            k = t.next_rung
            if t.early is None and k < len(levels) and reached(resource, levels[k]):
                t.early = [k, self._as_value(value)]
                self.version += 1
            return PAUSE
        if t.status == PROMOTED:
            self._queue.remove(trial_id)
            t.status = RUNNING
            self.version += 1
        if reached(resource, self.max_resource):
            self._done(t, "completed")
            self._slot_freed()
            return STOP
        k = t.next_rung
        if k >= len(levels) or not reached(resource, levels[k]):
            return CONTINUE
        if self._skips_to_highest:
            while k + 1 < len(levels) and reached(resource, levels[k + 1]):
                k += 1
        self.version += 1
        t.next_rung = k + 1
        loss = self._as_value(value)
        if t.early is not None:
            if t.early[0] == k:
                loss = t.early[1]
            t.early = None
        return self._on_milestone(t, k, loss)

    def finish(self, trial_id: str, reason: str, was_running: bool) -> None:
        """The trial ended without our STOP (completed, errored, removed, lost)."""
        t = self._trials.get(trial_id)
        if t is None or t.status == DONE:
            return
        self._done(t, reason)
        self._on_finish(t)
        if was_running:
            self._slot_freed()

    def revive(self, trial_id: str) -> bool:
        """A failed trial is retried by Tune (same id): let it run again if the rules allow."""
        t = self._trials.get(trial_id)
        if t is None or t.status != DONE or t.reason != "error" or not self._readmit(t):
            return False
        t.status, t.reason = RUNNING, ""
        self.version += 1
        return True

    def on_search_finished(self) -> None:
        """No new trials will come (the searcher is done)."""

    def on_stall(self, search_finished: bool) -> None:
        """Nothing runs or waits to start, nothing is runnable, but trials are paused."""
        raise NotImplementedError

    def set_level_weights(self, weights: Sequence[Sequence[float]] | None) -> None:
        """Weights of the resource levels, ``[[level, weight], ...]`` (None: forget them).

        Only a core that chooses among brackets uses them (:class:`schedulers.async_core.AsyncHyperband`);
        the others have nothing to choose and ignore them.
        """

    # ------------------------------------------------------------------- replay
    def apply(self, event: Sequence[Any]) -> None:
        """Replay one journaled event: ``[name, *arguments]`` of a public event method.

        Every decision is a function of the state and the order of events, so a core
        loaded from a snapshot and fed the events journaled after it ends in exactly the
        state of the core that journaled them (:mod:`schedulers.state_file`).
        """
        name, *args = event
        if name not in EVENTS:
            raise ValueError(f"unknown scheduler event {name!r}; expected one of {', '.join(EVENTS)}")
        getattr(self, name)(*args)

    # ----------------------------------------------------------- for subclasses
    _skips_to_highest = False  # decide at the highest milestone a jump reached, not the next

    def _as_value(self, value: Any) -> Any:
        """A reported value as the rungs store it: a loss (+inf for NaN/None) here; a
        multi-objective core stores a vector (:mod:`schedulers.pareto_core`)."""
        return as_loss(value)

    def _finite(self, value: Any) -> bool:
        """Whether a stored value is a real result (else the trial stops as "nan")."""
        return math.isfinite(value)

    def _assign(self, trial_id: str) -> int:
        raise NotImplementedError

    def _milestones(self, t: TrialState) -> Sequence[float]:
        raise NotImplementedError

    def _on_milestone(self, t: TrialState, k: int, loss: Any) -> str:
        raise NotImplementedError

    def _on_finish(self, t: TrialState) -> None:
        pass

    def _readmit(self, t: TrialState) -> bool:
        return True

    def _slot_freed(self) -> None:
        pass

    def _done(self, t: TrialState, reason: str) -> None:
        if t.trial_id in self._queue:
            self._queue.remove(t.trial_id)
        t.status, t.reason = DONE, reason
        self.version += 1

    def _promote(self, t: TrialState) -> None:
        t.status = PROMOTED
        self._queue.append(t.trial_id)
        self.version += 1

    def _stop_later(self, t: TrialState, reason: str) -> None:
        self._done(t, reason)
        self._stops.append(t.trial_id)

    def _waiting(self, trial_id: str) -> bool:
        return self._trials[trial_id].status == PAUSED

    def describe(self) -> str:
        """A few lines for Ray's status table (the subclass knows its brackets)."""
        raise NotImplementedError

    def status_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for t in self._trials.values():
            counts[t.status] = counts.get(t.status, 0) + 1
        return counts

    # -------------------------------------------------------------- persistence
    def config(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "min_resource": self.min_resource,
            "max_resource": self.max_resource,
            "reduction_factor": self.reduction_factor,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config(),
            "trials": [{f: getattr(t, f) for f in _FIELDS} for t in self._trials.values()],
            "queue": list(self._queue),
            "stops": list(self._stops),
            "version": self.version,
        }

    def load(self, data: dict[str, Any]) -> None:
        """Replace this core's state by a saved one made with the same configuration."""
        if data["config"] != self.config():
            raise ValueError(
                f"saved scheduler state has configuration {data['config']}, this scheduler has {self.config()}"
            )
        self._trials = {t["trial_id"]: TrialState(**t) for t in data["trials"]}
        self._queue = list(data["queue"])
        self._stops = list(data["stops"])
        self.version = int(data["version"])
