"""The search space as TPE's kernels see it: one column per parameter, in unit coordinates.

Every numeric parameter lives on ``[0, 1]`` (``Param.to_unit``: log-transformed where
log), so one truncated-normal kernel family with bounds ``[0, 1]`` serves floats, log
floats and grids alike, and bandwidths mean the same thing in every dimension. A
discrete value (int, stepped float) owns the cell of unit coordinates that
``Param.from_unit`` rounds to it, and its probability is the kernel's mass over that
cell; a categorical column holds the option index. Conditional parameters keep their
column in every row, with an activity mask derived from their parent's value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from searchers.space import Param, SearchSpace

CONTINUOUS, DISCRETE, CATEGORICAL = 0, 1, 2


class UnitSpace:
    """Vectorised per-column facts about a :class:`SearchSpace` (built once per space)."""

    def __init__(self, space: SearchSpace):
        self.space = space
        self.params: tuple[Param, ...] = space.params
        index = {p.name: i for i, p in enumerate(self.params)}
        self.kind = np.array(
            [CATEGORICAL if p.is_categorical else DISCRETE if p.is_discrete else CONTINUOUS for p in self.params],
            dtype=int,
        )
        self.n_choices = np.array([p.n_choices if p.is_categorical else 0 for p in self.params], dtype=int)
        # DFS order puts a parent before its children, so one pass resolves activity.
        self.parent = np.array([index[p.parent[0]] if p.parent else -1 for p in self.params], dtype=int)
        self.option = np.array([p.parent[1] if p.parent else -1 for p in self.params], dtype=int)
        self.continuous = np.flatnonzero(self.kind == CONTINUOUS)
        self.discrete = np.flatnonzero(self.kind == DISCRETE)
        self.categorical = np.flatnonzero(self.kind == CATEGORICAL)
        self._grid = {int(d): _Grid(self.params[d]) for d in self.discrete}
        # Columns that share an activation condition form a group (the root, or one option
        # of one categorical), in order of their first column, so a group's parent column
        # always belongs to an earlier group.
        groups: dict[tuple[int, int], list[int]] = {}
        for d in range(len(self.params)):
            groups.setdefault((int(self.parent[d]), int(self.option[d])), []).append(d)
        self.groups: tuple[np.ndarray, ...] = tuple(np.array(cols) for cols in groups.values())
        self.group_condition: tuple[tuple[int, int], ...] = tuple(groups)

    def __len__(self) -> int:
        return len(self.params)

    # ------------------------------------------------------------------ rows
    def encode(self, flat: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """Flat values -> (row of unit coordinates / option indices, activity row)."""
        row = np.zeros(len(self.params))
        active = np.zeros(len(self.params), dtype=bool)
        for d, p in enumerate(self.params):
            if p.name in flat:
                active[d] = True
                row[d] = int(flat[p.name]) if p.is_categorical else p.to_unit(flat[p.name])
        return row, active

    def decode(self, row: np.ndarray, active: np.ndarray) -> dict[str, Any]:
        """One row -> flat values of its active parameters."""
        return {
            p.name: (int(row[d]) if p.is_categorical else p.from_unit(row[d]))
            for d, p in enumerate(self.params)
            if active[d]
        }

    def activity(self, rows: np.ndarray) -> np.ndarray:
        """Which columns of each row are active, given the rows' categorical values."""
        active = np.ones(rows.shape, dtype=bool)
        for d in np.flatnonzero(self.parent >= 0):
            p = self.parent[d]
            active[:, d] = active[:, p] & (rows[:, p] == self.option[d])
        return active

    def group_active(self, g: int, row: np.ndarray, active: np.ndarray) -> bool:
        """Whether group ``g`` is active given the decided part of one row."""
        parent, option = self.group_condition[g]
        return parent < 0 or (bool(active[parent]) and int(row[parent]) == option)

    # ----------------------------------------------------------- grid cells
    def snap(self, d: int, u: np.ndarray) -> np.ndarray:
        """Unit coordinates -> the unit coordinate of the grid value whose cell holds them."""
        g = self._grid[d]
        return g.unit_of_index(g.index_of_unit(u))

    def cell(self, d: int, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unit-coordinate bounds of the grid cells that hold ``u``."""
        g = self._grid[d]
        k = g.index_of_unit(u)
        lo = np.where(k == 0, 0.0, g.unit_of_value(g.low + (k - 0.5) * g.step))
        hi = np.where(k == g.n - 1, 1.0, g.unit_of_value(g.low + (k + 0.5) * g.step))
        return lo, hi


class _Grid:
    """A discrete parameter's value grid and the affine map t(value) -> unit coordinate.

    The map is recovered from the public ``Param.to_unit`` at two points, so the cells
    here agree with what ``Param.from_unit`` rounds to without reading its internals.
    """

    def __init__(self, p: Param):
        self.low, self.step, self.n, self.log = float(p.low), float(p.grid_step), p.n_grid, p.log
        v1, v2 = self.low, self.low + 0.5 * self.step
        t1, t2 = self._t(np.float64(v1)), self._t(np.float64(v2))
        self.scale = (p.to_unit(v2) - p.to_unit(v1)) / (t2 - t1)
        self.offset = p.to_unit(v1) - self.scale * t1

    def _t(self, v: np.ndarray) -> np.ndarray:
        return np.log(v) if self.log else v

    def unit_of_value(self, v: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            u: np.ndarray = self.offset + self.scale * self._t(np.asarray(v, dtype=float))
        return u

    def unit_of_index(self, k: np.ndarray) -> np.ndarray:
        return self.unit_of_value(self.low + k * self.step)

    def index_of_unit(self, u: np.ndarray) -> np.ndarray:
        t = (np.clip(u, 0.0, 1.0) - self.offset) / self.scale
        v = np.exp(t) if self.log else t
        k: np.ndarray = np.clip(np.round((v - self.low) / self.step), 0, self.n - 1).astype(int)
        return k
