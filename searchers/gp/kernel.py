"""Matern-5/2 kernel with one length scale per parameter (ARD), as a function of r^2.

Writing the kernel in terms of the scaled squared distance r^2 = sum_d w_d (x_d - x'_d)^2
(w_d = weight_d / length_scale^2) keeps it and its derivative finite at r = 0, where the
derivative in r would need 0/0; every gradient (hyperparameters, inputs) goes through
dk/d(r^2).
"""

from __future__ import annotations

import numpy as np

_SQRT5 = np.sqrt(5.0)


def matern52(r2: np.ndarray) -> np.ndarray:
    """k(r^2) = (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r), unit signal variance."""
    r = np.sqrt(r2)
    k: np.ndarray = (1.0 + _SQRT5 * r + (5.0 / 3.0) * r2) * np.exp(-_SQRT5 * r)
    return k


def matern52_and_grad(r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """k(r^2) and dk/d(r^2) = -5/6 (1 + sqrt5 r) exp(-sqrt5 r), sharing the exponential."""
    r = np.sqrt(r2)
    e = np.exp(-_SQRT5 * r)
    poly = 1.0 + _SQRT5 * r
    return (poly + (5.0 / 3.0) * r2) * e, (-5.0 / 6.0) * poly * e


def scaled_sqdist(X1: np.ndarray, X2: np.ndarray, w: np.ndarray) -> np.ndarray:
    """r^2 between the rows of X1 (n, D) and X2 (m, D) with per-column weights w (D,).

    Through one matrix product (|a|^2 + |b|^2 - 2 a.b); rounding can make it slightly
    negative for equal points, so it is clipped at 0.
    """
    sw = np.sqrt(w)
    A, B = X1 * sw, X2 * sw
    r2 = np.sum(A * A, axis=1)[:, None] + np.sum(B * B, axis=1)[None, :] - 2.0 * (A @ B.T)
    out: np.ndarray = np.maximum(r2, 0.0)
    return out


def sqdiff_per_dim(X: np.ndarray) -> np.ndarray:
    """(n, n, D) squared differences per column: what hyperparameter gradients contract with."""
    diff = X[:, None, :] - X[None, :, :]
    sq: np.ndarray = diff * diff
    return sq
