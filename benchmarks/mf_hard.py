"""Harder simulated multi-fidelity problems: several learning-curve shapes, crossing curves,
noise at every fidelity, 4-10 dimensions, a conditional space.

A value at resource ``r`` (epochs, 1..R) is

    value(x, r) = f(x) + A(x) * s(r; a(x)) + sigma * (0.25 + 0.75 u) * eps(x, r)

* ``f`` is a standard test function on the unit cube, normalised by its spread over
  random configurations (so one unit is "a typical difference between configurations"),
  with the dimensions of each *instance* permuted and some reflected (``x -> 1 - x``):
  the optimum moves, its value does not, so regret stays exact.
* ``s(r; a)`` is the learning curve, 1 at the first epoch and 0 at the last, of one of
  three shapes: ``pow`` (r^-a: fast early progress), ``exp`` (e^-a(r-1): converges
  early) and ``late`` (a sigmoid in log r whose midpoint a*log R varies: late bloomers).
* ``A(x)`` and the rate ``a(x)`` depend on the configuration. With ``cross`` > 0 the
  better configurations (lower ``f``) carry larger ``A`` and learn more slowly, so their
  curves start *above* worse ones and cross them: low rungs rank misleadingly.
* noise with standard deviation ``sigma (0.25 + 0.75 u)`` (``u`` = 1 at the first epoch,
  0 at the last), reproducible per (seed, configuration, r), also at full fidelity: the
  incumbent is picked by noisy observations, its regret is measured on the true ``f``.

``epoch_time`` varies 0.5-1.5 units with one coordinate. The instance number (``@k`` in
a name) draws the permutation, reflections and curve constants: ``PROBLEMS`` are
instance 0 (what we report), :func:`held_out` gives other instances of the same
families (what design choices were made on).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmarks.functions import hartmann
from searchers.space import Categorical, Float, Int


def _levy(z: np.ndarray) -> float:
    w = 1 + (z - 1) / 4
    head = np.sin(np.pi * w[0]) ** 2
    mid = np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(np.pi * w[:-1] + 1) ** 2))
    tail = (w[-1] - 1) ** 2 * (1 + np.sin(2 * np.pi * w[-1]) ** 2)
    return float(head + mid + tail)


def _ackley(z: np.ndarray) -> float:
    d = len(z)
    return float(
        -20 * np.exp(-0.2 * np.sqrt(np.sum(z * z) / d)) - np.exp(np.sum(np.cos(2 * np.pi * z)) / d) + 20 + np.e
    )


def _rosen_log(z: np.ndarray) -> float:
    return float(np.log1p(np.sum(100 * (z[1:] - z[:-1] ** 2) ** 2 + (1 - z[:-1]) ** 2)))


def _styblinski(z: np.ndarray) -> float:
    return float(0.5 * np.sum(z**4 - 16 * z**2 + 5 * z))


#: name -> (dimension, unit cube -> domain, function, known minimum)
_BASES: dict[str, tuple[int, Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], float], float]] = {
    "hartmann6": (6, lambda u: u, hartmann, -3.322368011391339),
    "levy8": (8, lambda u: -10 + 20 * u, _levy, 0.0),
    "ackley10": (10, lambda u: -5 + 15 * u, _ackley, 0.0),
    "rosenbrock4": (4, lambda u: -5 + 15 * u, _rosen_log, 0.0),
    "styblinski5": (5, lambda u: -5 + 10 * u, _styblinski, -39.16616570377142 * 5),
}


def _curve(shape: str, r: float, R: float, a: float) -> float:
    """Fraction of the gap still to close after r of R epochs: 1 at r = 1, 0 at r = R."""
    if shape == "pow":
        return (r**-a - R**-a) / (1 - R**-a)
    if shape == "exp":
        return (math.exp(-a * (r - 1)) - math.exp(-a * (R - 1))) / (1 - math.exp(-a * (R - 1)))
    if shape == "late":
        mid, width = a * math.log(R), 0.15 * math.log(R)

        def sig(t: float) -> float:
            return 1.0 / (1.0 + math.exp(-(mid - t) / width))

        return (sig(math.log(r)) - sig(math.log(R))) / (sig(0.0) - sig(math.log(R)))
    raise ValueError(f"unknown curve shape {shape!r}")


@dataclass
class CurveProblem:
    """One problem instance; satisfies benchmarks.sched_sim.Objective and what
    benchmarks.sched_compare.incumbent_regret reads (space, max_resource, optimum, final)."""

    name: str
    base: str
    shape: str
    space: dict[str, Any]
    max_resource: int
    optimum: float
    dims: int
    instance: int = 0
    cross: float = 0.0  # how strongly good configurations learn slowly (0: independent)
    amplitude: float = 4.0  # A, in units of f's spread
    noise: float = 0.1  # sigma, in units of f's spread
    conditional: bool = False
    _perm: np.ndarray = field(init=False, repr=False)
    _flip: np.ndarray = field(init=False, repr=False)
    _proj: np.ndarray = field(init=False, repr=False)
    _scale: float = field(init=False, repr=False)
    _median: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        g = np.random.default_rng([self.instance, self.dims, len(self.base)])
        self._perm = g.permutation(self.dims)
        self._flip = g.uniform(size=self.dims) < 0.5 if self.instance else np.zeros(self.dims, dtype=bool)
        self._proj = g.normal(size=(2, self.dims)) / math.sqrt(self.dims)
        sample = np.array([self._raw(u) for u in np.random.default_rng(12345).uniform(size=(512, self.dims))])
        self._scale = float(np.std(sample)) or 1.0
        self._median = float(np.median(sample))

    # --------------------------------------------------------------- objective
    def _raw(self, u: np.ndarray) -> float:
        d, to_domain, fn, _ = _BASES[self.base]
        u = np.where(self._flip, 1 - u, u)[self._perm]
        return fn(to_domain(u))

    def vector(self, config: dict[str, Any]) -> np.ndarray:
        """The unit-cube point of a config (nested or flat form)."""
        if not self.conditional:
            return np.array([config[f"x{i}"] for i in range(self.dims)], dtype=float)
        return _conditional_vector(config, self.dims)

    def _f(self, u: np.ndarray) -> float:
        return (self._raw(u) - _BASES[self.base][3]) / self._scale

    def final(self, config: dict[str, Any]) -> float:
        """The noiseless objective at full fidelity (normalised; its minimum is 0)."""
        return self._f(self.vector(config))

    def value(self, config: dict[str, Any], resource: float, seed: int) -> float:
        u_vec = self.vector(config)
        f = self._f(u_vec)
        R = float(self.max_resource)
        r = min(max(float(resource), 1.0), R)
        p0, p1 = (1 / (1 + np.exp(-self._proj @ (u_vec - 0.5) * 3))).tolist()
        # crossing: goodness in [0, 1] (1 = best) raises the amplitude and slows the rate
        good = 1 / (1 + math.exp((f - (self._median - _BASES[self.base][3]) / self._scale) * 2))
        amp = self.amplitude * ((1 - self.cross) * (0.5 + p0) + self.cross * (0.5 + 1.5 * good))
        rate = (1 - self.cross) * (0.3 + 1.2 * p1) + self.cross * (1.2 - 0.9 * good)
        if self.shape == "late":
            rate = 0.25 + 0.5 * rate / 1.5  # the sigmoid's midpoint, as a fraction of log R
        gap = 1.0 - math.log(r) / math.log(R)
        v = f + amp * _curve(self.shape, r, R, rate)
        if self.noise > 0:
            v += self.noise * (0.25 + 0.75 * gap) * float(_noise(seed, u_vec, r).standard_normal())
        return v

    def epoch_time(self, config: dict[str, Any]) -> float:
        return 0.5 + float(self.vector(config)[-1])


def _noise(seed: int, x: np.ndarray, resource: float) -> np.random.Generator:
    digest = hashlib.blake2b(
        np.ascontiguousarray(x, dtype=float).tobytes() + repr(float(resource)).encode(),
        digest_size=8,
        key=int(seed).to_bytes(8, "little", signed=True),
    ).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


# ------------------------------------------------------------ conditional space
# An 'optimizer' choice with its own parameters, a shared log-scaled learning rate and an
# integer: a branch decides which coordinates of the base function are in play; the
# inactive ones are held at a branch-specific constant (the branch's "default"), so the
# best branch is not the one random search finds first.

_COND_DIMS = 6


def conditional_space() -> dict[str, Any]:
    return {
        "lr": Float(1e-4, 1e-1, log=True),
        "layers": Int(1, 8),
        "opt": Categorical(
            [
                {"kind": "sgd", "momentum": Float(0.0, 0.99), "nesterov_w": Float(0.0, 1.0)},
                {"kind": "adam", "beta1": Float(0.5, 0.999), "beta2": Float(0.9, 0.9999), "eps_w": Float(0.0, 1.0)},
            ]
        ),
    }


def conditional_flat_space() -> dict[str, Any]:
    """The same parameters, unconditional (for peers whose space format has no branches)."""
    return {
        "lr": Float(1e-4, 1e-1, log=True),
        "layers": Int(1, 8),
        "kind": Categorical(["sgd", "adam"]),
        "momentum": Float(0.0, 0.99),
        "nesterov_w": Float(0.0, 1.0),
        "beta1": Float(0.5, 0.999),
        "beta2": Float(0.9, 0.9999),
        "eps_w": Float(0.0, 1.0),
    }


def _conditional_vector(config: dict[str, Any], dims: int) -> np.ndarray:
    opt = config["opt"] if "opt" in config else config
    lr = (math.log10(config["lr"]) + 4) / 3
    layers = (config["layers"] - 1) / 7
    if opt["kind"] == "sgd":
        # sgd reaches the base function's optimum region only through its own two knobs
        b = [opt["momentum"] / 0.99, opt["nesterov_w"], 0.9, 0.1]
    else:
        b = [(opt["beta1"] - 0.5) / 0.499, (opt["beta2"] - 0.9) / 0.0999, opt["eps_w"], 0.35]
    return np.array([lr, layers, *b], dtype=float)[:dims]


def make(name: str, instance: int = 0) -> CurveProblem:
    """A problem by family name (see FAMILIES)."""
    base, shape, cross, noise, R, conditional = FAMILIES[name]
    dims = _BASES[base][0]
    space = conditional_space() if conditional else {f"x{i}": Float(0.0, 1.0) for i in range(dims)}
    return CurveProblem(
        f"{name}@{instance}",
        base,
        shape,
        space,
        R,
        0.0,
        dims,
        instance=instance,
        cross=cross,
        noise=noise,
        conditional=conditional,
    )


#: family -> (base function, curve shape, crossing, noise, max epochs, conditional space)
FAMILIES: dict[str, tuple[str, str, float, float, int, bool]] = {
    "h6-pow-cross": ("hartmann6", "pow", 0.7, 0.1, 27, False),
    "levy8-exp": ("levy8", "exp", 0.0, 0.1, 27, False),
    "ackley10-late": ("ackley10", "late", 0.3, 0.05, 27, False),
    "rosen4-late-cross": ("rosenbrock4", "late", 0.8, 0.1, 27, False),
    "styb5-pow-noisy": ("styblinski5", "pow", 0.3, 0.3, 27, False),
    "cond6-exp-cross": ("hartmann6", "exp", 0.6, 0.1, 27, True),
}

PROBLEMS: dict[str, CurveProblem] = {name: make(name, 0) for name in FAMILIES}


def held_out(instances: tuple[int, ...] = (101, 102)) -> dict[str, CurveProblem]:
    """Other instances of every family: for design choices, never for the reported claim."""
    return {f"{n}@{i}": make(n, i) for n in FAMILIES for i in instances}
