"""Truncated normal kernels: log-density, interval mass and inverse-CDF sampling.

TPE evaluates thousands of kernel densities per suggestion, so these are plain numpy
ufunc expressions over whole arrays (no per-element Python, unlike a frompyfunc
``log_ndtr``). Standardised bounds ``a = (low - mu) / sigma``, ``b = (high - mu) / sigma``
follow ``scipy.stats.truncnorm``. Masses are computed in log space and always on the
left tail (mirroring intervals that lie right of zero), where ``log_ndtr`` keeps full
relative precision: far-tail kernels must not collapse to ``log(0)`` and lose the
ranking of candidates.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import log_ndtr, ndtr, ndtri_exp

LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
# Below this standard score Phi loses relative precision to underflow (Phi(-37.5) ~ 1e-308).
_DEEP_TAIL = -30.0


def log_gauss_mass(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """log(Phi(b) - Phi(a)) for a <= b, elementwise, accurate in both tails.

    Mirrored onto the left tail, ``Phi`` keeps full relative precision down to about
    -37.5 standard deviations, so a plain difference serves everywhere except the deep
    tail, which takes the log-space form. Two special-function calls per element: this
    sits in TPE's innermost loop.
    """
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    flip = a > 0
    lo = np.atleast_1d(np.where(flip, -b, a))  # now lo <= 0
    hi = np.atleast_1d(np.where(flip, -a, b))
    with np.errstate(divide="ignore"):
        out = np.log(ndtr(hi) - ndtr(lo))
        deep = hi < _DEEP_TAIL
        if deep.any():
            log_hi, log_lo = log_ndtr(hi[deep]), log_ndtr(lo[deep])
            out[deep] = log_hi + np.log1p(-np.exp(log_lo - log_hi))
    result: np.ndarray = out.reshape(a.shape)  # scipy.special is unannotated: Any
    return result


def logpdf(x: np.ndarray, mu: np.ndarray, sigma: np.ndarray, low: float, high: float) -> np.ndarray:
    """Log-density of N(mu, sigma) truncated to [low, high]; -inf outside."""
    x, mu, sigma = np.asarray(x, dtype=float), np.asarray(mu, dtype=float), np.asarray(sigma, dtype=float)
    z = (x - mu) / sigma
    out = -0.5 * z * z - LOG_SQRT_2PI - np.log(sigma) - log_gauss_mass((low - mu) / sigma, (high - mu) / sigma)
    return np.where((x < low) | (x > high), -np.inf, out)


def sample(u: np.ndarray, mu: np.ndarray, sigma: np.ndarray, low: float, high: float) -> np.ndarray:
    """Inverse-CDF draws of N(mu, sigma) truncated to [low, high] from uniforms ``u``.

    The caller supplies the uniforms so that the one generator it owns decides every draw.
    """
    u, mu, sigma = np.broadcast_arrays(
        np.asarray(u, dtype=float), np.asarray(mu, dtype=float), np.asarray(sigma, dtype=float)
    )
    a, b = (low - mu) / sigma, (high - mu) / sigma
    flip = a > 0  # draw from the mirrored interval (-b, -a), whose left tail is accurate
    lo = np.where(flip, -b, a)
    hi = np.where(flip, -a, b)
    q = np.where(flip, 1.0 - u, u)
    with np.errstate(divide="ignore"):
        log_cdf = np.logaddexp(log_ndtr(lo), np.log(q) + log_gauss_mass(lo, hi))
    z = np.clip(ndtri_exp(np.minimum(log_cdf, 0.0)), lo, hi)
    z = np.where(flip, -z, z)
    x: np.ndarray = np.clip(mu + sigma * z, low, high)  # scipy.special is unannotated: Any
    return x
