"""The append-only trial record a searcher core reasons over (pure, no Ray).

A core sees every configuration it suggested, in suggestion order, with its state and
objective. Values are stored as *losses* (smaller is better) so cores never branch on
the optimisation mode. Intermediate results are kept per resource level, which is what
multi-fidelity searchers (BOHB's rule) fit on.

A multi-objective searcher also records each result's *vector*: the minimised objectives
followed by the total constraint violation (0 = feasible), see
:mod:`searchers.common.pareto`. ``loss`` is then the first objective's, which decides, as
with one objective, whether a trial completed or failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from searchers.common.checks import finite_or_none
from searchers.common.enums import StrEnum


class TrialStatus(StrEnum):
    """A searcher's view of a trial: suggested and running, finished with a value, or failed."""

    PENDING = "pending"
    COMPLETE = "complete"
    FAILED = "failed"


PENDING, COMPLETE, FAILED = TrialStatus.PENDING, TrialStatus.COMPLETE, TrialStatus.FAILED


@dataclass
class TrialObs:
    trial_id: str
    flat: dict[str, Any]
    state: str = PENDING
    loss: float | None = None
    #: resource level -> loss of the last result reported at that level
    levels: dict[float, float] = field(default_factory=dict)
    #: multi-objective only: (minimised objectives..., total violation) of the final result
    vector: tuple[float, ...] | None = None
    #: multi-objective only: resource level -> vector of the last result at that level
    level_vectors: dict[float, tuple[float, ...]] = field(default_factory=dict)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # records saved before multi-objective support have no vectors
        state.setdefault("vector", None)
        state.setdefault("level_vectors", {})
        self.__dict__.update(state)

    @property
    def last_vector(self) -> tuple[float, ...] | None:
        """Vector at the highest level reached so far (None if none was reported)."""
        return self.level_vectors[max(self.level_vectors)] if self.level_vectors else None

    @property
    def last_loss(self) -> float | None:
        """Loss at the highest level reached so far (None if nothing was reported)."""
        return self.levels[max(self.levels)] if self.levels else None


class TrialRecord:
    """Trials keyed by id, in the order they were added; nothing is ever removed."""

    def __init__(self) -> None:
        self._trials: dict[str, TrialObs] = {}

    def __len__(self) -> int:
        return len(self._trials)

    def __contains__(self, trial_id: str) -> bool:
        return trial_id in self._trials

    def __iter__(self) -> Iterator[TrialObs]:
        return iter(self._trials.values())

    def get(self, trial_id: str) -> TrialObs | None:
        return self._trials.get(trial_id)

    def add(self, trial_id: str, flat: dict[str, Any], state: str = PENDING, loss: float | None = None) -> TrialObs:
        if trial_id in self._trials:
            raise KeyError(f"trial {trial_id!r} is already recorded")
        obs = TrialObs(trial_id, dict(flat), state, loss)
        self._trials[trial_id] = obs
        return obs

    def report(self, trial_id: str, level: float, loss: float, vector: tuple[float, ...] | None = None) -> None:
        """Record an intermediate loss (and vector); later reports at the same level overwrite."""
        obs = self._trials.get(trial_id)
        if obs is not None and finite_or_none(loss) is not None and finite_or_none(level) is not None:
            obs.levels[float(level)] = float(loss)
            if vector is not None:
                obs.level_vectors[float(level)] = tuple(float(v) for v in vector)

    def complete(self, trial_id: str, loss: float | None, vector: tuple[float, ...] | None = None) -> None:
        """Finish a trial; without a finite loss, fall back to its last reported one (and vector)."""
        obs = self._trials.get(trial_id)
        if obs is None or obs.state != PENDING:
            return
        if finite_or_none(loss) is None:
            loss, vector = obs.last_loss, obs.last_vector
        if loss is None:
            obs.state = FAILED
        else:
            obs.state, obs.loss = COMPLETE, float(loss)
            obs.vector = None if vector is None else tuple(float(v) for v in vector)

    def fail(self, trial_id: str) -> None:
        obs = self._trials.get(trial_id)
        if obs is not None and obs.state == PENDING:
            obs.state = FAILED

    def with_state(self, state: str) -> list[TrialObs]:
        return [t for t in self._trials.values() if t.state == state]

    def levels(self) -> list[float]:
        """All resource levels any trial reported at, ascending."""
        return sorted({lv for t in self._trials.values() for lv in t.levels})
