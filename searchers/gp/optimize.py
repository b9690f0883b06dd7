"""Maximising the acquisition over a mixed, conditional space.

1. Score ``n_candidates`` scrambled-Sobol points (snapped to valid configurations, so
   integers, categoricals and inactive branches are handled by the encoding).
2. Polish the caller's seeds (the incumbent: the acquisition's best point is often a
   small step away from it, which candidates rarely hit late in a run; Optuna does the
   same) and the best candidates, ``n_starts`` in all, with one joint L-BFGS-B run over their continuous,
   active coordinates (BoTorch's batch trick: the summed objective is separable, so one
   run optimises all starts). Coordinates are scaled by the effective length scales, as
   Optuna does: it makes the problem isotropic and L-BFGS-B converge in fewer steps.
3. A coordinate search over discrete parameters of the best point (every option of a
   categorical, grid neighbours of an integer), then one more polish if it moved.

Integers and stepped floats are never relaxed: the acquisition is only ever evaluated
at valid configurations, so no rounding step can land on a worse point than the one
that was scored.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.optimize
from scipy.stats import qmc

from searchers.gp.acquisition import Acquisition
from searchers.gp.encoding import Encoding


def sobol_candidates(encoding: Encoding, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` scrambled Sobol points of the unit cube, snapped to valid configurations."""
    m = max(0, math.ceil(math.log2(max(n, 1))))
    # An integer seed from our generator, not the generator itself: given a Generator,
    # Sobol spawns a child from its SeedSequence, which is not part of the generator's
    # saved state, so a restored searcher would scramble differently.
    seed = int(rng.integers(2**63 - 1))
    raw = qmc.Sobol(d=encoding.dim, scramble=True, rng=seed).random_base2(m)[:n]
    return encoding.snap(raw)


def polish(acq: Acquisition, encoding: Encoding, X0: np.ndarray, max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Jointly run L-BFGS-B from each row of X0 over its continuous active columns."""
    X0 = np.atleast_2d(X0)
    free = encoding.active_columns(X0) & encoding.continuous[None, :]
    start_values = acq(X0)
    if not free.any():
        return X0, start_values
    scale = 1.0 / np.sqrt(acq.posterior.w)  # effective length scale per column
    rows, cols = np.nonzero(free)
    s = scale[cols]

    def negative(z: np.ndarray) -> tuple[float, np.ndarray]:
        X = X0.copy()
        X[rows, cols] = z * s
        value, grad = acq.value_and_grad(X)
        return -float(np.sum(value)), -grad[rows, cols] * s

    res = scipy.optimize.minimize(
        negative,
        X0[rows, cols] / s,
        jac=True,
        method="L-BFGS-B",
        bounds=list(zip(np.zeros_like(s), 1.0 / s)),
        options={"maxiter": max_iter, "ftol": 1e-10, "gtol": 1e-6},
    )
    X = X0.copy()
    X[rows, cols] = np.clip(res.x * s, 0.0, 1.0)
    values = acq(X)
    # Keep a start where the joint run made it worse (possible: only the sum must improve).
    worse = ~(values >= start_values)
    X[worse], values[worse] = X0[worse], start_values[worse]
    return X, values


def coordinate_search(
    acq: Acquisition, encoding: Encoding, x: np.ndarray, value: float, max_rounds: int = 3
) -> tuple[np.ndarray, float]:
    """Greedy passes over the discrete parameters, each trying all its alternatives at once."""
    params = encoding.discrete_params()
    for _ in range(max_rounds):
        moved = False
        for i in params:
            alt = encoding.alternatives(x, i)
            if len(alt) == 0:
                continue
            vals = acq(alt)
            j = int(np.argmax(vals))
            if vals[j] > value:
                x, value, moved = alt[j], float(vals[j]), True
        if not moved:
            break
    return x, value


def maximize(
    acq: Acquisition, encoding: Encoding, rng: np.random.Generator, n_candidates: int, n_starts: int, seeds: np.ndarray
) -> tuple[np.ndarray, float]:
    """The (encoded) configuration with the highest acquisition value found, and that value."""
    if n_candidates < 1:
        raise ValueError(f"n_candidates must be >= 1, got {n_candidates}")
    if n_starts < 1:
        raise ValueError(f"n_starts must be >= 1, got {n_starts}")
    seeds = np.atleast_2d(seeds).reshape(-1, encoding.dim)
    X = sobol_candidates(encoding, n_candidates, rng)
    values = acq(X)
    order = np.argsort(-values, kind="stable")
    _, first = np.unique(X[order], axis=0, return_index=True)
    top = order[np.sort(first)[: max(n_starts - len(seeds), 1)]]
    Xp, vp = polish(acq, encoding, np.vstack([seeds, X[top]]))
    b = int(np.argmax(vp))
    x, value = Xp[b], float(vp[b])
    x2, value2 = coordinate_search(acq, encoding, x, value)
    if value2 > value:
        Xq, vq = polish(acq, encoding, x2[None, :])
        x, value = (Xq[0], float(vq[0])) if vq[0] >= value2 else (x2, value2)
    return x, value
