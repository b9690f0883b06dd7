"""Hyperparameters by maximising the marginal likelihood (times the priors) with L-BFGS-B.

The log posterior of GP hyperparameters is multi-modal (a short-length-scale "noise
fits everything" mode next to a smooth one), so one local run can end in the wrong
mode. Restarts are screened, not all run: the priors' default start and ``n_restarts``
random starts around it are each scored once (one likelihood evaluation each), and
L-BFGS-B (30-100 evaluations) runs from the best ``n_local`` of them. With a warm start
(the previous suggestion's optimum: the data changed by one point, so it usually sits
next to the new optimum) L-BFGS-B runs from it, and from another start only if that one
already scores better than the warm start, i.e. when the data have moved the posterior
elsewhere. In a long run that is one local run per suggestion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize

from searchers.gp.hyper import Priors
from searchers.gp.likelihood import MarginalLikelihood


@dataclass(frozen=True)
class FitResult:
    theta: np.ndarray  # see searchers.gp.hyper for the layout
    log_posterior: float
    n_evaluations: int


def fit_hyperparameters(
    objective: MarginalLikelihood,
    rng: np.random.Generator,
    warm_start: np.ndarray | None,
    n_restarts: int,
    n_local: int = 2,
    max_iter: int = 200,
) -> FitResult:
    """Maximise ``objective`` (log posterior of the hyperparameter vector theta)."""
    if n_restarts < 0:
        raise ValueError(f"n_restarts must be >= 0, got {n_restarts}")
    if n_local < 1:
        raise ValueError(f"n_local must be >= 1, got {n_local}")
    P = objective.n_params
    priors = objective.priors or Priors()
    box = priors.bounds(P)
    lo, hi = np.array(box).T
    n_eval = 0

    def negative(theta: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal n_eval
        n_eval += 1
        try:
            value, grad = objective.value_and_grad(theta)
        except np.linalg.LinAlgError:
            return np.inf, np.zeros_like(theta)
        if not np.isfinite(value) or not np.all(np.isfinite(grad)):
            return np.inf, np.zeros_like(theta)
        return -value, -grad

    others = [priors.start(P)] + [priors.sample(rng, P) for _ in range(n_restarts)]
    scored = sorted(((negative(x)[0], i) for i, x in enumerate(others)))  # stable: ties by index
    ranked = [(score, others[i]) for score, i in scored if np.isfinite(score)]
    if warm_start is not None and len(warm_start) == P + 3:
        warm = np.clip(np.asarray(warm_start, dtype=float), lo, hi)
        bar = negative(warm)[0]
        # Another start earns a local run only if it already beats the warm start.
        starts = [warm] + [x for score, x in ranked if score < bar]
    else:
        starts = [x for _, x in ranked]
    starts = starts[:n_local] or [priors.start(P)]

    best: tuple[float, np.ndarray] | None = None
    for x0 in starts:
        res = scipy.optimize.minimize(
            negative,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=box,
            options={"maxiter": max_iter, "ftol": 1e-6, "gtol": 1e-3},
        )
        if np.isfinite(res.fun) and (best is None or res.fun < best[0]):
            best = (float(res.fun), np.asarray(res.x, dtype=float))
    if best is None:  # every start hit a non-finite likelihood: keep the default start
        return FitResult(priors.start(P), float("nan"), n_eval)
    return FitResult(best[1], -best[0], n_eval)
