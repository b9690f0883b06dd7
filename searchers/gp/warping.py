"""The GP's view of the losses: standardized, optionally after a fitted power transform.

A GP with a stationary kernel and Gaussian noise assumes losses of one scale everywhere.
Narrow curved valleys (Rosenbrock, Dixon-Price, Powell) break that: a few points far up
the walls are orders of magnitude above the floor, and after a plain standardization the
whole floor, where the optimum is, sits within a sliver of one standard deviation, so the
model cannot tell its points apart. HEBO (Cowen-Rivers et al. 2022) fits a power
transform to the losses before the GP for this reason; ``"yeo-johnson"`` does the same
(Yeo and Johnson 2000, lambda by maximum likelihood, :func:`scipy.stats.yeojohnson`),
on standardized losses so the result does not depend on their units. The transform is
monotone increasing, so the incumbent and every ranking stay the same.

Names: ``losses`` (n,) as recorded, lower is better; the result is (n,), mean 0, sd 1.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

WARPINGS = ("none", "yeo-johnson")


def standardize(values: np.ndarray) -> np.ndarray:
    out: np.ndarray = (values - values.mean()) / max(float(values.std()), 1e-12)
    return out


def warp_losses(losses: np.ndarray, warping: str = "none") -> np.ndarray:
    """``losses`` standardized, through the fitted Yeo-Johnson transform when asked.

    Falls back to the plain standardization when there are too few distinct losses to fit
    lambda or the fit does not give finite values (an extreme lambda overflows).
    """
    z = standardize(np.asarray(losses, dtype=float))
    if warping == "none" or len(np.unique(z)) < 3:
        return z
    with np.errstate(all="ignore"):
        warped, _ = stats.yeojohnson(z)
    if not np.all(np.isfinite(warped)) or float(np.std(warped)) <= 0.0:
        return z
    return standardize(np.asarray(warped, dtype=float))
