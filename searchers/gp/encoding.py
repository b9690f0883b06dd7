"""The GP's view of a search space: unit vectors, snapped in bulk, with tied length scales.

``SearchSpace.encode_flat``/``decode_flat`` work one configuration at a time in Python,
which is too slow for scoring a thousand acquisition candidates per suggestion. This
module applies the same rules to whole arrays (clip, snap discrete values to their grid,
one-hot categoricals by argmax, resolve which conditional branches are active), using
only the space's public per-parameter mapping, so ``snap(X)`` and
``encode(decode(x))`` agree (tests check it).

Two choices that belong to the GP rather than the space:

* Inactive dimensions are filled with :data:`INACTIVE_FILL` = 0.5, the centre of the
  unit interval, not the space's 0.0: an inactive value then sits at most 0.5 away from
  any active one, so it does not look like "close to the lower bound". The fill is a
  fixed point of the embedding, so the kernel stays positive definite.
* One length scale per *parameter*, not per column: a categorical's one-hot block
  shares one length scale and its columns carry weight 0.5, so two different options
  are at squared distance exactly 1 (a Hamming kernel, as in Optuna's GPSampler).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from searchers.space import Param, SearchSpace

#: Value of every inactive column (numeric dims and one-hot blocks).
INACTIVE_FILL = 0.5


@dataclass(frozen=True)
class _Numeric:
    """Affine map between a parameter's transformed value and its unit coordinate."""

    log: bool
    low: float
    step: float | None
    n_grid: int
    lo: float  # transformed value at unit 0
    span: float  # transformed width of the unit interval

    @classmethod
    def of(cls, p: Param) -> _Numeric:
        # Recover the map from the public to_unit (two points fix an affine map), so this
        # module depends on the space's behaviour, not its private fields.
        t_low = math.log(p.low) if p.log else float(p.low)
        t_high = math.log(p.high) if p.log else float(p.high)
        u_low, u_high = p.to_unit(p.low), p.to_unit(p.high)
        span = (t_high - t_low) / (u_high - u_low)
        return cls(
            p.log,
            float(p.low),
            float(p.grid_step) if p.is_discrete else None,
            p.n_grid if p.is_discrete else 0,
            t_low - u_low * span,
            span,
        )

    @property
    def grid_step(self) -> float:
        """``step`` of a discrete parameter, where it is never None."""
        assert self.step is not None, "not a discrete parameter"
        return self.step

    def snap(self, u: np.ndarray) -> np.ndarray:
        """Unit coordinates -> the coordinates of the nearest grid values (as decode picks them)."""
        t = self.lo + np.clip(u, 0.0, 1.0) * self.span
        v = np.exp(t) if self.log else t
        k = np.clip(np.round((v - self.low) / self.grid_step), 0, self.n_grid - 1)
        return self.grid_units(k)

    def grid_units(self, k: np.ndarray) -> np.ndarray:
        v = self.low + np.asarray(k, dtype=float) * self.grid_step
        t = np.log(v) if self.log else v
        u: np.ndarray = (t - self.lo) / self.span
        return u

    def grid_index(self, u: float) -> int:
        t = self.lo + min(max(u, 0.0), 1.0) * self.span
        v = math.exp(t) if self.log else t
        return int(min(max(round((v - self.low) / self.grid_step), 0), self.n_grid - 1))


class Encoding:
    """Array-level encoding of a :class:`SearchSpace` for the GP.

    Attributes:
        dim: number of columns (as ``SearchSpace.dim``).
        n_params: number of parameters, i.e. of length scales.
        group: for each column, the index of its parameter.
        weight: for each column, its weight in the squared distance (1, or 0.5 in a
            one-hot block).
        continuous: columns of real parameters without a step (the ones gradient
            polishing moves).
    """

    def __init__(self, space: SearchSpace):
        self.space = space
        self.params = space.params
        self.dim = space.dim
        self.n_params = len(self.params)
        self._index = {p.name: i for i, p in enumerate(self.params)}
        self.slices = [space.slice_of(p.name) for p in self.params]
        self.group = np.zeros(self.dim, dtype=int)
        self.weight = np.ones(self.dim)
        self.continuous = np.zeros(self.dim, dtype=bool)
        self._numeric: list[_Numeric | None] = []
        for i, (p, sl) in enumerate(zip(self.params, self.slices)):
            self.group[sl] = i
            if p.is_categorical:
                self.weight[sl] = 0.5
                self._numeric.append(None)
            else:
                self.continuous[sl] = not p.is_discrete
                self._numeric.append(_Numeric.of(p))
        self._parent: list[tuple[int, int] | None] = [
            None if p.parent is None else (self._index[p.parent[0]], p.parent[1]) for p in self.params
        ]

    def _numeric_of(self, i: int) -> _Numeric:
        """The grid map of parameter ``i``, which is not a categorical."""
        num = self._numeric[i]
        assert num is not None, f"{self.params[i].name} is a categorical"
        return num

    # --------------------------------------------------------- one configuration
    def encode(self, flat: Mapping[str, Any]) -> np.ndarray:
        x, mask = self.space.encode_flat(flat)
        x[~mask] = INACTIVE_FILL
        return x

    def encode_many(self, flats: Sequence[Mapping[str, Any]]) -> np.ndarray:
        if not flats:
            return np.zeros((0, self.dim))
        return np.stack([self.encode(f) for f in flats])

    def decode(self, x: np.ndarray) -> dict[str, Any]:
        return self.space.decode_flat(x)

    # ------------------------------------------------------------------- arrays
    def snap(self, X: np.ndarray) -> np.ndarray:
        """Map any points of ``[0,1]^dim`` (rows) onto valid encoded configurations."""
        X = np.clip(np.array(X, dtype=float, ndmin=2), 0.0, 1.0)
        n = len(X)
        active = np.ones((n, self.n_params), dtype=bool)
        choice = np.zeros((n, self.n_params), dtype=int)
        for i, (p, sl) in enumerate(zip(self.params, self.slices)):
            parent = self._parent[i]
            if parent is not None:
                j, option = parent
                active[:, i] = active[:, j] & (choice[:, j] == option)
            act = active[:, i]
            if p.is_categorical:
                choice[:, i] = np.argmax(X[:, sl], axis=1)
                block = np.zeros((n, p.n_choices))
                block[np.arange(n), choice[:, i]] = 1.0
                X[:, sl] = np.where(act[:, None], block, INACTIVE_FILL)
            else:
                col = X[:, sl.start]
                if p.is_discrete:
                    col = self._numeric_of(i).snap(col)
                X[:, sl.start] = np.where(act, col, INACTIVE_FILL)
        return X

    def active_columns(self, X: np.ndarray) -> np.ndarray:
        """Boolean (n, dim): which columns are active in each (snapped) row."""
        X = np.array(X, dtype=float, ndmin=2)
        n = len(X)
        active = np.ones((n, self.n_params), dtype=bool)
        out = np.zeros(X.shape, dtype=bool)
        for i, sl in enumerate(self.slices):
            parent = self._parent[i]
            if parent is not None:
                j, option = parent
                parent_sl = self.slices[j]
                active[:, i] = active[:, j] & (np.argmax(X[:, parent_sl], axis=1) == option)
            out[:, sl] = active[:, i][:, None]
        return out

    def discrete_params(self) -> list[int]:
        """Indices of the parameters a coordinate search varies (ints, stepped floats, categoricals)."""
        return [i for i, p in enumerate(self.params) if p.is_categorical or p.is_discrete]

    def alternatives(self, x: np.ndarray, i: int, max_values: int = 32) -> np.ndarray:
        """Valid neighbours of ``x`` that differ in parameter ``i`` (empty if it is inactive).

        Every option of a categorical (switching a branch on starts its parameters at the
        centre of their ranges); every grid value of a discrete parameter with at most
        ``max_values`` of them, else grid steps of +-1, 2, 4, ... around the current one.
        """
        p, sl = self.params[i], self.slices[i]
        if not self.active_columns(x)[0, sl.start]:
            return np.zeros((0, self.dim))
        if p.is_categorical:
            current = int(np.argmax(x[sl]))
            rows = []
            for option in range(p.n_choices):
                if option != current:
                    y = x.copy()
                    y[sl] = 0.0
                    y[sl.start + option] = 1.0
                    rows.append(y)
            return self.snap(np.array(rows)) if rows else np.zeros((0, self.dim))
        num = self._numeric_of(i)
        k = num.grid_index(float(x[sl.start]))
        if num.n_grid <= max_values:
            ks = np.arange(num.n_grid)
        else:
            offsets = 2 ** np.arange(math.ceil(math.log2(num.n_grid)) + 1)  # reaches both ends
            ks = np.unique(np.clip(np.concatenate([k - offsets, k + offsets]), 0, num.n_grid - 1))
        ks = ks[ks != k]
        out = np.repeat(x[None, :], len(ks), axis=0)
        out[:, sl.start] = num.grid_units(ks)
        return out
