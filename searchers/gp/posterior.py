"""The GP posterior for fixed hyperparameters: mean and variance, with input gradients.

Everything is in standardized loss units. ``condition_on`` adds points whose outputs
are the current posterior mean (the kriging believer): the mean is then unchanged
everywhere (a rank-one update with zero residual) while the variance near those points
shrinks, which is exactly what makes the next suggestion avoid pending trials.
"""

from __future__ import annotations

import numpy as np

from searchers.gp.hyper import Hyper
from searchers.gp.kernel import matern52, matern52_and_grad, scaled_sqdist
from searchers.gp.linalg import cho_solve, cholesky_jitter, solve_lower

#: Floor of the posterior variance: keeps sigma > 0 for the acquisitions' 1/sigma.
MIN_VARIANCE = 1e-12


class Posterior:
    """GP posterior given data (X, y), hyperparameters and column weights w (D,)."""

    def __init__(self, X: np.ndarray, y: np.ndarray, hyper: Hyper, w: np.ndarray):
        self.X = np.asarray(X, dtype=float)
        self.y = np.asarray(y, dtype=float)
        self.hyper, self.w = hyper, w
        K = hyper.signal * matern52(scaled_sqdist(self.X, self.X, w))
        K[np.diag_indices(len(K))] += hyper.noise
        self.L, self.jitter = cholesky_jitter(K)
        self.alpha = cho_solve(self.L, self.y - hyper.mean)

    def _cross(self, Xq: np.ndarray) -> np.ndarray:
        return self.hyper.signal * matern52(scaled_sqdist(Xq, self.X, self.w))

    def predict(self, Xq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of the latent function at the rows of Xq."""
        Xq = np.atleast_2d(Xq)
        Ks = self._cross(Xq)  # (m, n)
        mean = self.hyper.mean + Ks @ self.alpha
        V = solve_lower(self.L, Ks.T)  # (n, m)
        var = self.hyper.signal - np.sum(V * V, axis=0)
        return mean, np.maximum(var, MIN_VARIANCE)

    def predict_with_grad(self, Xq: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean, variance and their gradients in x: shapes (m,), (m,), (m, D), (m, D)."""
        Xq = np.atleast_2d(Xq)
        kf, dkf = matern52_and_grad(scaled_sqdist(Xq, self.X, self.w))
        Ks = self.hyper.signal * kf
        mean = self.hyper.mean + Ks @ self.alpha
        beta = cho_solve(self.L, Ks.T)  # (n, m) = K^-1 k(x)
        var_raw = self.hyper.signal - np.sum(Ks.T * beta, axis=0)
        var = np.maximum(var_raw, MIN_VARIANCE)
        # dk_i/dx = signal * k'(r2_i) * 2 w (x - X_i)
        G = 2.0 * self.hyper.signal * dkf  # (m, n)
        diff = Xq[:, None, :] - self.X[None, :, :]  # (m, n, D)
        dmean = np.einsum("mn,mnd->md", G * self.alpha[None, :], diff) * self.w
        dvar = -2.0 * np.einsum("mn,mnd->md", G * beta.T, diff) * self.w
        dvar[var_raw <= MIN_VARIANCE] = 0.0
        return mean, var, dmean, dvar

    def condition_on(self, Xp: np.ndarray) -> Posterior:
        """Kriging believer: the posterior after observing its own mean at the rows of Xp."""
        Xp = np.atleast_2d(Xp)
        if len(Xp) == 0:
            return self
        fantasy, _ = self.predict(Xp)
        return Posterior(np.vstack([self.X, Xp]), np.concatenate([self.y, fantasy]), self.hyper, self.w)
