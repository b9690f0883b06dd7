"""Acquisition functions for minimisation: UCB (here a lower confidence bound), EI, log-EI.

Each takes the posterior mean and variance (standardized loss units) and returns the
value to *maximise* together with its derivatives in the mean and the variance; the
chain rule to the inputs lives in :class:`Acquisition`, so each formula is written once.

log-EI follows Ament et al., "Unexpected Improvements to Expected Improvement" (2023):
EI underflows to exactly 0 (and its gradient with it) once the best value is a few
standard deviations below the mean, which leaves a gradient optimiser stranded on flat
ground late in a run; log h(z) with h(z) = phi(z) + z Phi(z) is computed in closed form
branches that stay accurate down to z = -1e100.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
from scipy.special import erfcx, log_ndtr, ndtr

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_HALF_LOG_HALF_PI = 0.5 * math.log(0.5 * math.pi)
_SQRT_HALF_PI = math.sqrt(0.5 * math.pi)
_ASYMPTOTIC_Z = -1.0 / math.sqrt(np.finfo(float).eps)  # log h: below this, the asymptotic form
_SERIES_Z = -1e3  # d log h/dz: below this, asymptotic series

ACQUISITIONS = ("ucb", "ei", "log-ei")


def _log1mexp(x: np.ndarray) -> np.ndarray:
    """log(1 - exp(x)) for x < 0, accurate near 0 and for very negative x (Maechler 2012)."""
    out: np.ndarray = np.where(x > -math.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))
    return out


def log_h(z: np.ndarray) -> np.ndarray:
    """log(phi(z) + z Phi(z)), the log of EI for a unit-variance posterior at distance z."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    big = z > -1.0
    zb = z[big]
    out[big] = np.log(zb * ndtr(zb) + _INV_SQRT_2PI * np.exp(-0.5 * zb * zb))
    mid = ~big & (z > _ASYMPTOTIC_Z)
    zm = z[mid]
    out[mid] = (
        -0.5 * zm * zm - _LOG_SQRT_2PI + _log1mexp(np.log(erfcx(-zm / math.sqrt(2.0)) * np.abs(zm)) + _HALF_LOG_HALF_PI)
    )
    tail = ~big & ~mid
    zt = z[tail]
    out[tail] = -0.5 * zt * zt - _LOG_SQRT_2PI - 2.0 * np.log(np.abs(zt))
    return out


def log_h_grad(z: np.ndarray) -> np.ndarray:
    """d log h / dz = Phi(z) / h(z), without forming either tiny factor.

    For z <= -1 it is R / (1 + z R) with R = Phi/phi = sqrt(pi/2) erfcx(-z/sqrt2); the
    denominator cancels catastrophically for large |z|, so below z = -1e3 both factors
    come from their asymptotic series: R = S1/|z|, 1 + z R = S2/z^2.
    """
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    big = z > -1.0
    out[big] = np.exp(log_ndtr(z[big]) - log_h(z[big]))
    mid = ~big & (z > _SERIES_Z)
    zm = z[mid]
    ratio = _SQRT_HALF_PI * erfcx(-zm / math.sqrt(2.0))
    out[mid] = ratio / (1.0 + zm * ratio)
    tail = ~big & ~mid
    q = 1.0 / z[tail] ** 2
    s1 = 1.0 + q * (-1.0 + q * (3.0 + q * (-15.0 + 105.0 * q)))
    s2 = 1.0 + q * (-3.0 + q * (15.0 + q * (-105.0 + 945.0 * q)))
    out[tail] = np.abs(z[tail]) * s1 / s2
    return out


def ucb(mean: np.ndarray, var: np.ndarray, kappa: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """-(mean - kappa * sigma): the lower confidence bound of the loss, negated to maximise."""
    sigma = np.sqrt(var)
    return -mean + kappa * sigma, -np.ones_like(mean), kappa / (2.0 * sigma)


def ei(mean: np.ndarray, var: np.ndarray, best: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """E[max(best - f, 0)] = sigma h(z), z = (best - mean) / sigma."""
    sigma = np.sqrt(var)
    z = (best - mean) / sigma
    cdf, pdf = ndtr(z), _INV_SQRT_2PI * np.exp(-0.5 * z * z)
    return sigma * (z * cdf + pdf), -cdf, pdf / (2.0 * sigma)


def log_ei(mean: np.ndarray, var: np.ndarray, best: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log EI = log sigma + log h(z), finite and with a useful gradient where EI underflows."""
    sigma = np.sqrt(var)
    z = (best - mean) / sigma
    dz = log_h_grad(z)
    value = np.log(sigma) + log_h(z)
    # dz/dmean = -1/sigma, dz/dsigma = -z/sigma, dsigma/dvar = 1/(2 sigma)
    return value, -dz / sigma, (1.0 - z * dz) / (2.0 * var)


class Surrogate(Protocol):
    """What an acquisition needs of a model: :class:`searchers.gp.posterior.Posterior`, or a
    combination of posteriors (the multi-fidelity searcher's ensemble and resource slice).

    ``w`` are the column weights (1 / length scale^2) the optimiser scales coordinates by."""

    w: np.ndarray

    def predict(self, Xq: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def predict_with_grad(self, Xq: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...


class Acquisition:
    """An acquisition function bound to a posterior, evaluated on encoded inputs.

    Args:
        kind: "ucb", "ei" or "log-ei".
        best: the incumbent (lowest observed standardized loss), for EI and log-EI.
        kappa: UCB's exploration weight (sigma multiplier).
    """

    def __init__(self, kind: str, posterior: Surrogate, best: float, kappa: float):
        if kind not in ACQUISITIONS:
            raise ValueError(f"acquisition must be one of {', '.join(ACQUISITIONS)}, got {kind!r}")
        if not (math.isfinite(kappa) and kappa >= 0):
            raise ValueError(f"kappa must be a finite number >= 0, got {kappa!r}")
        self.kind, self.posterior, self.best, self.kappa = kind, posterior, float(best), float(kappa)

    def _formula(self, mean: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.kind == "ucb":
            return ucb(mean, var, self.kappa)
        if self.kind == "ei":
            return ei(mean, var, self.best)
        return log_ei(mean, var, self.best)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        mean, var = self.posterior.predict(X)
        return self._formula(mean, var)[0]

    def value_and_grad(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, var, dmean, dvar = self.posterior.predict_with_grad(X)
        value, d_mean, d_var = self._formula(mean, var)
        return value, d_mean[:, None] * dmean + d_var[:, None] * dvar
