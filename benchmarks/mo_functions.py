"""Multi-objective test problems: ZDT1-3, DTLZ2 (3 objectives) and the constrained BNH.

Every objective is minimised. The reference points and the largest attainable hypervolumes
are BoTorch's (``botorch.test_functions.multi_objective``: ZDT ref 11 per objective, DTLZ2
ref 1.1 per objective) so our figures read on the same scale; BNH's reference (140, 50)
bounds its objectives' ranges over the box (f1 <= 136, f2 <= 50).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class MOProblem:
    space: dict[str, Any]
    objectives: Callable[[np.ndarray], np.ndarray]
    reference: tuple[float, ...]
    #: largest attainable hypervolume (None where unknown)
    max_hv: float | None
    #: g(x) <= 0 feasible, one per constraint
    constraints: Callable[[np.ndarray], np.ndarray] | None = None
    names: tuple[str, ...] = field(default=())

    @property
    def m(self) -> int:
        return len(self.reference)

    def x(self, config: dict[str, Any]) -> np.ndarray:
        return np.array([config[f"x{i}"] for i in range(len(self.space))], dtype=float)


def _box(d: int, low: float = 0.0, high: float = 1.0) -> dict[str, Any]:
    return {f"x{i}": {"type": "float", "low": low, "high": high} for i in range(d)}


def _zdt_g(x: np.ndarray) -> float:
    return 1.0 + 9.0 * float(np.mean(x[1:]))


def zdt1(x: np.ndarray) -> np.ndarray:
    g = _zdt_g(x)
    return np.array([x[0], g * (1.0 - math.sqrt(x[0] / g))])


def zdt2(x: np.ndarray) -> np.ndarray:
    g = _zdt_g(x)
    return np.array([x[0], g * (1.0 - (x[0] / g) ** 2)])


def zdt3(x: np.ndarray) -> np.ndarray:
    g = _zdt_g(x)
    r = x[0] / g
    return np.array([x[0], g * (1.0 - math.sqrt(r) - r * math.sin(10.0 * math.pi * x[0]))])


def dtlz2(x: np.ndarray, m: int = 3) -> np.ndarray:
    g = float(np.sum((x[m - 1 :] - 0.5) ** 2))
    half_pi = x[: m - 1] * math.pi / 2.0
    out = np.full(m, 1.0 + g)
    for i in range(m):
        out[i] *= float(np.prod(np.cos(half_pi[: m - 1 - i])))
        if i > 0:
            out[i] *= math.sin(half_pi[m - 1 - i])
    return out


def bnh(x: np.ndarray) -> np.ndarray:
    return np.array([4.0 * x[0] ** 2 + 4.0 * x[1] ** 2, (x[0] - 5.0) ** 2 + (x[1] - 5.0) ** 2])


def bnh_constraints(x: np.ndarray) -> np.ndarray:
    return np.array([(x[0] - 5.0) ** 2 + x[1] ** 2 - 25.0, 7.7 - (x[0] - 8.0) ** 2 - (x[1] + 3.0) ** 2])


ZDT_DIM = 30
DTLZ2_DIM = 12  # m + k - 1 with k = 10 (Deb et al. 2005)

MO_PROBLEMS: dict[str, MOProblem] = {
    "zdt1": MOProblem(_box(ZDT_DIM), zdt1, (11.0, 11.0), 120.0 + 2.0 / 3.0),
    "zdt2": MOProblem(_box(ZDT_DIM), zdt2, (11.0, 11.0), 120.0 + 1.0 / 3.0),
    "zdt3": MOProblem(_box(ZDT_DIM), zdt3, (11.0, 11.0), 128.77811613069076),
    # the front is the positive unit-sphere octant: the box minus the octant of the ball
    "dtlz2": MOProblem(_box(DTLZ2_DIM), dtlz2, (1.1, 1.1, 1.1), 1.1**3 - math.pi / 6.0),
    "bnh": MOProblem(
        {"x0": {"type": "float", "low": 0.0, "high": 5.0}, "x1": {"type": "float", "low": 0.0, "high": 3.0}},
        bnh,
        (140.0, 50.0),
        None,
        bnh_constraints,
    ),
}
