"""Cholesky factorisation that does not give up on a nearly singular kernel matrix.

Duplicate or near-duplicate points (a discrete space, a pending trial at an observed
configuration) make K + noise*I numerically singular when the fitted noise is tiny.
Adding a growing multiple of the mean diagonal ("jitter") until the factorisation
succeeds is the standard remedy (GPyTorch's psd_safe_cholesky, BoTorch); the added
amount is returned so callers can account for it.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

_JITTERS = (0.0, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2)


def cholesky_jitter(K: np.ndarray) -> tuple[np.ndarray, float]:
    """Lower Cholesky factor of ``K + jitter*I`` with the smallest jitter that works."""
    if not np.all(np.isfinite(K)):
        raise np.linalg.LinAlgError("kernel matrix has non-finite entries")
    scale = float(np.mean(np.diag(K))) if len(K) else 1.0
    for rel in _JITTERS:
        jitter = rel * scale
        try:
            A = K if jitter == 0.0 else K + jitter * np.eye(len(K))
            return scipy.linalg.cholesky(A, lower=True, check_finite=False), jitter
        except np.linalg.LinAlgError:
            continue
    raise np.linalg.LinAlgError(f"kernel matrix is not positive definite even with jitter {_JITTERS[-1]:g}*mean(diag)")


def cho_solve(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve (L L^T) X = B."""
    X: np.ndarray = scipy.linalg.cho_solve((L, True), B, check_finite=False)
    return X


def solve_lower(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve L X = B for lower-triangular L."""
    X: np.ndarray = scipy.linalg.solve_triangular(L, B, lower=True, check_finite=False)
    return X


def inverse_from_cholesky(L: np.ndarray) -> np.ndarray:
    """(L L^T)^-1 from its lower factor (LAPACK potri: half the work of solving for I)."""
    inv, info = scipy.linalg.lapack.dpotri(L, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"potri failed with info={info}")
    # potri fills the lower triangle; the upper one still holds L's zeros.
    full: np.ndarray = inv + inv.T
    full[np.diag_indices_from(full)] *= 0.5
    return full
