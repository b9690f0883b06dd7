"""Models the acquisition can maximise over configurations: an ensemble and a resource slice.

Both satisfy :class:`searchers.gp.acquisition.Surrogate`, so the GP searcher's
acquisition functions and optimiser run on them unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from searchers.gp.linalg import inverse_from_cholesky
from searchers.gp.posterior import MIN_VARIANCE, Posterior


def loo_means(posterior: Posterior) -> np.ndarray:
    """Leave-one-out predictive means at the training points, in closed form.

    mu_{-i} = y_i - [K^-1 (y - m)]_i / [K^-1]_ii (Rasmussen & Williams, eq. 5.12): how the
    highest rung's model ranks its own trials without having seen each one.
    """
    diag = np.diag(inverse_from_cholesky(posterior.L))
    out: np.ndarray = posterior.y - posterior.alpha / diag
    return out


class Ensemble:
    """Weighted product of GP experts (generalised PoE, Cao & Fleet 2014), as Hyper-Tune.

    precision = sum_i w_i / var_i, mean = sum_i (w_i / var_i) mean_i / precision, with the
    weights summing to 1: a confident expert pulls harder, a zero-weight one not at all.
    """

    def __init__(self, members: Sequence[Posterior], weights: Sequence[float]):
        if len(members) != len(weights) or not members:
            raise ValueError("an ensemble needs one weight per member and at least one member")
        keep = [i for i, w in enumerate(weights) if w > 0]
        if not keep:
            raise ValueError("an ensemble needs a positive weight")
        self.members = [members[i] for i in keep]
        total = float(sum(weights[i] for i in keep))
        self.weights = np.array([weights[i] / total for i in keep], dtype=float)
        # The optimiser scales coordinates by the shortest length scale any expert uses.
        self.w: np.ndarray = np.max(np.stack([m.w for m in self.members]), axis=0)

    def predict(self, Xq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Xq = np.atleast_2d(Xq)
        prec = np.zeros(len(Xq))
        num = np.zeros(len(Xq))
        for w, m in zip(self.weights, self.members):
            mean, var = m.predict(Xq)
            prec += w / var
            num += w * mean / var
        return num / prec, np.maximum(1.0 / prec, MIN_VARIANCE)

    def predict_with_grad(self, Xq: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        Xq = np.atleast_2d(Xq)
        S = np.zeros(len(Xq))
        N = np.zeros(len(Xq))
        dS = np.zeros(Xq.shape)
        dN = np.zeros(Xq.shape)
        for w, m in zip(self.weights, self.members):
            mean, var, dmean, dvar = m.predict_with_grad(Xq)
            S += w / var
            N += w * mean / var
            dS -= (w / var**2)[:, None] * dvar
            dN += (w / var)[:, None] * dmean - (w * mean / var**2)[:, None] * dvar
        mean = N / S
        var = 1.0 / S
        dmean_out = (dN - mean[:, None] * dS) / S[:, None]
        dvar_out = -dS / (S * S)[:, None]
        return mean, np.maximum(var, MIN_VARIANCE), dmean_out, dvar_out


class ResourceSlice:
    """A GP over (configuration, resource) seen at one resource: the joint model's target.

    The resource is the last input column; it is held at ``unit`` and dropped from the
    gradients, so the optimiser moves configurations only.
    """

    def __init__(self, posterior: Posterior, unit: float):
        self.posterior, self.unit = posterior, float(unit)
        self.w: np.ndarray = posterior.w[:-1]

    def lift(self, Xq: np.ndarray) -> np.ndarray:
        Xq = np.atleast_2d(Xq)
        return np.hstack([Xq, np.full((len(Xq), 1), self.unit)])

    def predict(self, Xq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.posterior.predict(self.lift(Xq))

    def predict_with_grad(self, Xq: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        mean, var, dmean, dvar = self.posterior.predict_with_grad(self.lift(Xq))
        return mean, var, dmean[:, :-1], dvar[:, :-1]

    def condition_on(self, Xp: np.ndarray) -> ResourceSlice:
        """Kriging believer at this resource (pending trials will report there last)."""
        if len(Xp) == 0:
            return self
        return ResourceSlice(self.posterior.condition_on(self.lift(Xp)), self.unit)
