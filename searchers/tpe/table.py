"""The observations as arrays, kept in step with the searcher's trial record.

``TrialRecord`` (dicts of Python objects) is the source of truth and what is saved;
re-reading it into arrays at every suggestion would be a Python loop over all trials.
This table mirrors it incrementally instead: one row per trial in record order,
refreshed only for the trial a callback touched, so a suggestion costs array work only.
It can always be rebuilt from the record (on restore), and it holds nothing else.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from searchers.record import COMPLETE, FAILED, PENDING, TrialObs
from searchers.tpe.unit_space import UnitSpace

_STATE_CODE: dict[str, int] = {PENDING: 0, COMPLETE: 1, FAILED: 2}


class ObservationTable:
    def __init__(self, space: UnitSpace, capacity: int = 64):
        self.space = space
        self.n = 0
        self._row_of: dict[str, int] = {}
        cap = max(int(capacity), 1)
        self._rows = np.zeros((cap, len(space)))
        self._active = np.zeros((cap, len(space)), dtype=bool)
        self._state = np.zeros(cap, dtype=np.int8)
        self._loss = np.full(cap, np.nan)
        self._has_levels = np.zeros(cap, dtype=bool)
        self._levels: list[float] = []  # in order of first appearance
        self._level_index: dict[float, int] = {}
        self._level_loss = np.full((0, cap), np.nan)  # (levels, rows)
        # Multi-objective: each row's vector (objectives..., violation), final and per level;
        # allocated when the first vector arrives (width = its length).
        self.vector_width = 0
        self._vec = np.full((cap, 0), np.nan)
        self._level_vec = np.full((0, cap, 0), np.nan)  # (levels, rows, width)

    # -------------------------------------------------------------- updates
    def observe(self, obs: TrialObs) -> None:
        """Add ``obs`` as a new row, or refresh its row from the record."""
        row = self._row_of.get(obs.trial_id)
        if row is None:
            row = self._append(obs)
        self._state[row] = _STATE_CODE[obs.state]
        self._loss[row] = np.nan if obs.loss is None else obs.loss
        self._has_levels[row] = bool(obs.levels)
        for level, loss in obs.levels.items():
            slot = self._level_slot(level)  # may grow the array: index it afterwards
            self._level_loss[slot, row] = loss
        if obs.vector is not None or obs.level_vectors:
            self._observe_vectors(row, obs)

    def _observe_vectors(self, row: int, obs: TrialObs) -> None:
        width = len(obs.vector) if obs.vector is not None else len(next(iter(obs.level_vectors.values())))
        if self.vector_width == 0:
            self.vector_width = width
            self._vec = np.full((len(self._state), width), np.nan)
            self._level_vec = np.full((len(self._levels), len(self._state), width), np.nan)
        self._vec[row] = np.nan if obs.vector is None else obs.vector
        for level, vec in obs.level_vectors.items():
            slot = self._level_slot(level)
            self._level_vec[slot, row] = vec

    def _append(self, obs: TrialObs) -> int:
        if self.n == len(self._state):
            self._grow()
        row = self.n
        self._rows[row], self._active[row] = self.space.encode(obs.flat)
        self._row_of[obs.trial_id] = row
        self.n += 1
        return row

    def _grow(self) -> None:
        cap = 2 * len(self._state)
        self._rows = _grown(self._rows, cap, 0, 0.0)
        self._active = _grown(self._active, cap, 0, False)
        self._state = _grown(self._state, cap, 0, 0)
        self._loss = _grown(self._loss, cap, 0, np.nan)
        self._has_levels = _grown(self._has_levels, cap, 0, False)
        self._level_loss = _grown(self._level_loss, cap, 1, np.nan)
        self._vec = _grown(self._vec, cap, 0, np.nan)
        self._level_vec = _grown(self._level_vec, cap, 1, np.nan)

    def _level_slot(self, level: float) -> int:
        slot = self._level_index.get(level)
        if slot is None:
            slot = len(self._levels)
            self._levels.append(level)
            self._level_index[level] = slot
            self._level_loss = np.vstack((self._level_loss, np.full((1, self._level_loss.shape[1]), np.nan)))
            self._level_vec = np.concatenate(
                (self._level_vec, np.full((1, *self._level_vec.shape[1:]), np.nan)), axis=0
            )
        return slot

    # --------------------------------------------------------------- views
    @property
    def rows(self) -> np.ndarray:
        return self._rows[: self.n]

    @property
    def active(self) -> np.ndarray:
        return self._active[: self.n]

    @property
    def pending(self) -> np.ndarray:
        pending: np.ndarray = self._state[: self.n] == _STATE_CODE[PENDING]
        return pending

    def levels(self) -> tuple[np.ndarray, np.ndarray]:
        """Reported resource levels, ascending, and how many trials each one has a loss for
        (trials completed without any level count at every level)."""
        if not self._levels:
            return np.empty(0), np.empty(0, dtype=int)
        order = np.argsort(self._levels)
        counts = np.count_nonzero(~np.isnan(self._level_loss[order, : self.n]), axis=1)
        return np.asarray(self._levels)[order], counts + np.count_nonzero(self._unlevelled())

    def values_at(self, level: float | None) -> np.ndarray:
        """Loss of each row at ``level`` (NaN where it has none). ``None``: final losses.

        A trial that completed without reporting any level (a warm-start point, a core
        driven without fidelities) is taken as fidelity-agnostic and counts at every level.
        """
        unlevelled = self._unlevelled()
        if level is None:
            final: np.ndarray = np.where(self._state[: self.n] == _STATE_CODE[COMPLETE], self._loss[: self.n], np.nan)
            return final
        values: np.ndarray = self._level_loss[self._level_index[level], : self.n].copy()
        values[unlevelled] = self._loss[: self.n][unlevelled]
        return values

    def vectors_at(self, level: float | None) -> np.ndarray:
        """(rows, width) vectors at ``level`` (NaN rows where none), as :meth:`values_at`."""
        unlevelled = self._unlevelled()
        if level is None:
            final: np.ndarray = self._vec[: self.n].copy()
            final[self._state[: self.n] != _STATE_CODE[COMPLETE]] = np.nan
            return final
        vecs: np.ndarray = self._level_vec[self._level_index[level], : self.n].copy()
        vecs[unlevelled] = self._vec[: self.n][unlevelled]
        return vecs

    def _unlevelled(self) -> np.ndarray:
        unlevelled: np.ndarray = (self._state[: self.n] == _STATE_CODE[COMPLETE]) & ~self._has_levels[: self.n]
        return unlevelled


def _grown(a: np.ndarray, cap: int, axis: int, fill: Any) -> np.ndarray:
    """``a`` extended along ``axis`` to ``cap`` entries (amortised doubling)."""
    shape = list(a.shape)
    shape[axis] = cap
    out = np.full(shape, fill, dtype=a.dtype)
    out[tuple(slice(0, n) for n in a.shape)] = a
    return out
