"""Log marginal likelihood of the GP and its exact gradient in the hyperparameters.

The gradient is written out by hand (the standard 1/2 tr((aa^T - K^-1) dK/dtheta)
identity) rather than taken by autograd: at the sizes we fit (<= a few hundred points)
numpy/scipy with an analytic gradient was faster than torch autograd in our measurement
(benchmarks/gp_backend.py, docs/benchmarks.md), and it keeps torch out of the searcher.
"""

from __future__ import annotations

import math

import numpy as np

from searchers.gp.hyper import Priors
from searchers.gp.kernel import matern52_and_grad
from searchers.gp.linalg import cho_solve, cholesky_jitter, inverse_from_cholesky

_LOG_2PI = math.log(2.0 * math.pi)


class MarginalLikelihood:
    """log p(y | X, theta) + log prior(theta) for one data set, as a function of theta.

    Args:
        X: (n, D) encoded inputs; y: (n,) standardized outputs.
        group, weight: column -> parameter index and column weight (see Encoding).
        priors: priors on the log hyperparameters, or None for the plain likelihood.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, group: np.ndarray, weight: np.ndarray, priors: Priors | None):
        self.n, self.dim = X.shape
        self.y = np.asarray(y, dtype=float)
        self.group, self.weight = group, weight
        self.n_params = int(group.max()) + 1 if len(group) else 0
        self.priors = priors
        diff = X[:, None, :] - X[None, :, :]
        # (n*n, D): r^2 for new length scales is one matrix-vector product.
        self._sqd = (diff * diff).reshape(self.n * self.n, self.dim)

    def value_and_grad(self, theta: np.ndarray, with_prior: bool = True) -> tuple[float, np.ndarray]:
        """Log posterior of theta (likelihood + prior up to a constant) and its gradient;
        ``with_prior=False`` gives the plain log marginal likelihood."""
        P, n = self.n_params, self.n
        w = self.weight * np.exp(-2.0 * theta[:P])[self.group]
        signal, noise, mean = math.exp(theta[P]), math.exp(theta[P + 1]), theta[P + 2]
        r2 = (self._sqd @ w).reshape(n, n)
        kf, dkf = matern52_and_grad(r2)
        K = signal * kf
        K[np.diag_indices(n)] += noise
        L, _ = cholesky_jitter(K)
        resid = self.y - mean
        alpha = cho_solve(L, resid)
        value = -0.5 * float(resid @ alpha) - float(np.sum(np.log(np.diag(L)))) - 0.5 * n * _LOG_2PI

        # d log p / d theta = 1/2 tr(W dK/dtheta) with W = alpha alpha^T - K^-1.
        W = np.outer(alpha, alpha) - inverse_from_cholesky(L)
        grad = np.zeros_like(theta)
        # dK/dlog(l_p) = signal * k'(r^2) * sum_{d in p} (-2 w_d) sqd_d
        v = (W * dkf).reshape(-1) @ self._sqd * signal
        grad[:P] = np.bincount(self.group, weights=-w * v, minlength=P)
        grad[P] = 0.5 * float(np.sum(W * K)) - 0.5 * noise * float(np.trace(W))  # K includes noise
        grad[P + 1] = 0.5 * noise * float(np.trace(W))
        grad[P + 2] = float(np.sum(alpha))
        if with_prior and self.priors is not None:
            lp, lp_grad = self.priors.log_density(theta, P)
            value += lp
            grad += lp_grad
        return value, grad
