"""ParEGO: several objectives for the GP by a fresh random scalarisation at each suggestion.

Knowles (2006): normalise each objective to [0, 1] over the observations, draw weights
uniformly from the simplex, and fit the single-objective GP on the augmented Chebyshev
scalarisation ``max_j w_j f_j + rho * sum_j w_j f_j``. Each suggestion aims at one point of
the Pareto front; over many suggestions the weights cover all of it.

Why ParEGO and not log-EHVI: it reuses the one-objective GP, acquisition and optimiser
unchanged (one GP fit per suggestion, not one per objective), its cost does not grow with
the front, and it needs no box decomposition of the dominated region; EHVI is the stronger
acquisition on 2-3 objectives but would be a second model and acquisition stack to keep
right. How far that costs us is measured against Optuna in benchmarks/mo_quality.py.

Constraints: an infeasible observation scores above every feasible one (1 + rho + its
violation normalised to (0, 1]), so the GP learns to avoid where they are.
"""

from __future__ import annotations

import numpy as np

#: weight of the sum term (Knowles 2006 uses 0.05): breaks ties between weakly dominated points
RHO = 0.05


def random_weights(m: int, rng: np.random.Generator) -> np.ndarray:
    """Weights drawn uniformly from the (m-1)-simplex (a flat Dirichlet)."""
    w: np.ndarray = rng.dirichlet(np.ones(m))
    return w


def scalarise(vectors: np.ndarray, weights: np.ndarray, rho: float = RHO) -> np.ndarray:
    """Augmented Chebyshev value of each row of (objectives..., violation); smaller is better.

    Objectives are normalised by the feasible observations' finite range (all observations
    when none is feasible); a missing (+inf) objective counts as the worst observed value.
    """
    objs, viol = vectors[:, :-1], vectors[:, -1]
    feasible = viol <= 0.0
    ref_rows = objs[feasible] if feasible.any() else objs
    f = np.empty_like(objs)
    for j in range(objs.shape[1]):
        col = ref_rows[:, j][np.isfinite(ref_rows[:, j])]
        lo, hi = (float(col.min()), float(col.max())) if col.size else (0.0, 1.0)
        span = hi - lo if hi > lo else 1.0
        f[:, j] = np.clip((np.where(np.isfinite(objs[:, j]), objs[:, j], hi) - lo) / span, 0.0, None)
    scores: np.ndarray = np.max(f * weights, axis=1) + rho * (f @ weights)
    if not feasible.all():
        v = viol[~feasible]
        finite = v[np.isfinite(v)]
        top = float(finite.max()) if finite.size else 1.0
        scores[~feasible] = np.max(scores[feasible], initial=1.0) + rho + np.minimum(v / top, 1.0)
    return scores
