"""Synthetic objectives with known optima, shared by the searcher benchmarks.

Each :class:`Problem` is a search space (mftune's typed tree) plus a function of a
config, to be minimised; ``optimum`` is the known minimum, so simple regret is
``best value found - optimum``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from searchers.space import Categorical, Float, Int

_H6_A = np.array(
    [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_H3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
_H3_P = 1e-4 * np.array([[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]])
_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def branin(x1: float, x2: float) -> float:
    b, c, t = 5.1 / (4 * np.pi**2), 5 / np.pi, 1 / (8 * np.pi)
    return float((x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * np.cos(x1) + 10)


def hartmann(x: np.ndarray, a: np.ndarray = _H6_A, p: np.ndarray = _H6_P) -> float:
    x = np.asarray(x, dtype=float)
    return float(-np.sum(_ALPHA * np.exp(-np.sum(a * (x - p) ** 2, axis=1))))


def rosenbrock(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


@dataclass(frozen=True)
class Problem:
    name: str
    space: dict[str, Any]
    fn: Callable[[dict[str, Any]], float]
    optimum: float


def _conditional(c: dict[str, Any]) -> float:
    m = c["model"]
    shared = c["s"] ** 2
    if m["kind"] == "branin":
        return branin(m["x"], m["y"]) + shared
    if m["kind"] == "hartmann3":
        return hartmann([m["u0"], m["u1"], m["u2"]], _H3_A, _H3_P) + 4.5 + shared
    return (m["n"] - 7) ** 2 / 10 + (m["z"] - 0.3) ** 2 + 0.5 + shared


def _mixed(c: dict[str, Any]) -> float:
    return branin(c["x1"], c["x2"]) + 0.5 * (c["k"] - 3) ** 2 + {"a": 0.0, "b": 1.0, "c": 2.0}[c["cat"]]


PROBLEMS: dict[str, Problem] = {
    "branin": Problem(
        "branin",
        {"x1": Float(-5.0, 10.0), "x2": Float(0.0, 15.0)},
        lambda c: branin(c["x1"], c["x2"]),
        0.397887357729738,
    ),
    "hartmann6": Problem(
        "hartmann6",
        {f"x{i}": Float(0.0, 1.0) for i in range(6)},
        lambda c: hartmann([c[f"x{i}"] for i in range(6)]),
        -3.322368011391339,
    ),
    "rosenbrock10": Problem(
        "rosenbrock10",
        {f"x{i}": Float(-5.0, 10.0) for i in range(10)},
        lambda c: rosenbrock([c[f"x{i}"] for i in range(10)]),
        0.0,
    ),
    # Three branches with their own parameters; the best lies in the branin branch
    # (0.3979), the others bottom out at 0.5 and 0.6372: a searcher must model each.
    "conditional": Problem(
        "conditional",
        {
            "s": Float(-1.0, 1.0),
            "model": Categorical(
                [
                    {"kind": "branin", "x": Float(-5.0, 10.0), "y": Float(0.0, 15.0)},
                    {"kind": "hartmann3", "u0": Float(0.0, 1.0), "u1": Float(0.0, 1.0), "u2": Float(0.0, 1.0)},
                    {"kind": "quadratic", "n": Int(1, 20), "z": Float(0.0, 1.0)},
                ]
            ),
        },
        _conditional,
        0.397887357729738,
    ),
    # Floats, an integer and a categorical; optimum at k=3, cat=a on a branin minimum.
    "mixed": Problem(
        "mixed",
        {"x1": Float(-5.0, 10.0), "x2": Float(0.0, 15.0), "k": Int(0, 10), "cat": Categorical(["a", "b", "c"])},
        _mixed,
        0.397887357729738,
    ),
}
