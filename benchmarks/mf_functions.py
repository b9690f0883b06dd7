"""Multi-fidelity synthetic objectives: known optimum, learning-curve-like low fidelities.

A value at resource ``r`` (epochs, 1..R) is what a trial reports after ``r`` epochs. With
``u = 1 - log(r) / log(R)`` (1 at the first epoch, 0 at the last):

    value(x, r) = f(x; u) + c * u * g(x) + sigma * u * eps(x, r)

* ``f(x; u)`` is the objective with its shape bent at low fidelity. Hartmann6 follows
  Kandasamy et al. (2017, "BOCA"): the bump weights are ``alpha - 0.1 u``, so which
  bump looks best changes with fidelity. Branin shifts its first coordinate by ``u``.
* ``c * u * g(x)``: a learning curve: the loss starts high and falls towards ``f``,
  slower for configurations with larger ``g(x)`` (``g`` is 0.5 + a coordinate that the
  optimum does not sit at the end of), so curves cross and early ranks mislead.
* noise, standard deviation ``sigma * u``, seeded by (seed, configuration, r): a trial
  sees a reproducible curve, two rows of a comparison see the same noise.

At ``r = R`` everything but ``f(x)`` vanishes: the value *is* the objective, and
regret is measured against its known minimum. ``epoch_time`` makes configurations
differ in cost (0.5 to 1.5 time units per epoch), so synchronous brackets meet
stragglers.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.functions import _ALPHA, _H6_A, _H6_P, branin
from searchers.space import Float


def _h6(x: np.ndarray, alpha: np.ndarray) -> float:
    return float(-np.sum(alpha * np.exp(-np.sum(_H6_A * (x - _H6_P) ** 2, axis=1))))


@dataclass(frozen=True)
class MFProblem:
    name: str
    space: dict[str, Any]
    max_resource: int
    optimum: float
    _vector: Callable[[dict[str, Any]], np.ndarray]
    _shaped: Callable[[np.ndarray, float], float]  # f(x; u)
    _slope: Callable[[np.ndarray], float]  # g(x)
    _cost: Callable[[np.ndarray], float]
    curve: float = 1.0  # c
    noise: float = 0.1  # sigma

    def fidelity_gap(self, resource: float) -> float:
        """u: 1 at resource 1, 0 at max_resource."""
        r = min(max(float(resource), 1.0), float(self.max_resource))
        return 1.0 - math.log(r) / math.log(self.max_resource)

    def value(self, config: dict[str, Any], resource: float, seed: int) -> float:
        x = self._vector(config)
        u = self.fidelity_gap(resource)
        v = self._shaped(x, u) + self.curve * u * self._slope(x)
        if u > 0 and self.noise > 0:
            v += self.noise * u * float(_noise_rng(seed, x, resource).standard_normal())
        return v

    def final(self, config: dict[str, Any]) -> float:
        """The noiseless value at full fidelity: the objective itself."""
        return self._shaped(self._vector(config), 0.0)

    def epoch_time(self, config: dict[str, Any]) -> float:
        return self._cost(self._vector(config))


def _noise_rng(seed: int, x: np.ndarray, resource: float) -> np.random.Generator:
    digest = hashlib.blake2b(
        np.ascontiguousarray(x, dtype=float).tobytes() + repr(float(resource)).encode(),
        digest_size=8,
        key=int(seed).to_bytes(8, "little", signed=True),
    ).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


def _branin_vec(c: dict[str, Any]) -> np.ndarray:
    return np.array([c["x1"], c["x2"]], dtype=float)


MF_PROBLEMS: dict[str, MFProblem] = {
    "hartmann6": MFProblem(
        "hartmann6",
        {f"x{i}": Float(0.0, 1.0) for i in range(6)},
        27,
        -3.322368011391339,
        lambda c: np.array([c[f"x{i}"] for i in range(6)], dtype=float),
        lambda x, u: _h6(x, _ALPHA - 0.1 * u),
        lambda x: 0.5 + x[3],  # the optimum has x3 = 0.2753: neither end is safe
        lambda x: 0.5 + x[5],
    ),
    "branin": MFProblem(
        "branin",
        {"x1": Float(-5.0, 10.0), "x2": Float(0.0, 15.0)},
        27,
        0.397887357729738,
        _branin_vec,
        lambda x, u: branin(x[0] - 1.5 * u, x[1]),
        lambda x: 0.5 + x[1] / 15.0,
        lambda x: 0.5 + (x[0] + 5.0) / 15.0,
        curve=20.0,
        noise=2.0,
    ),
}
