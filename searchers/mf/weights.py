"""Rung weights from ranking consistency (Hyper-Tune, Li et al. 2022, Sec. 4.2; MFES-HB).

What matters of a low rung is not its values (3 epochs' losses are not 27 epochs') but
whether it *orders* configurations as the highest rung does. For each rung's model we
take its predictions at the trials observed at the highest rung and count the ordered
pairs it gets the wrong way round (the ranking loss):

    L = sum_j sum_k 1[(pred_j < pred_k) xor (target_j < target_k)]

The highest rung's own model is scored by its leave-one-out predictions (it has seen
the targets). A rung's weight is the fraction of bootstrap resamples of the targets in
which its loss is the smallest, so a rung that ranks well only by luck on a handful of
trials gets part of the weight, not all of it. Ties go to the higher rung: with equal
ranking skill the closer fidelity is the safer model.
"""

from __future__ import annotations

import numpy as np


def ranking_loss(pred: np.ndarray, target: np.ndarray) -> int:
    """Ordered pairs (j, k) on which ``pred`` and ``target`` disagree about j < k."""
    pred, target = np.asarray(pred, dtype=float), np.asarray(target, dtype=float)
    if pred.shape != target.shape or pred.ndim != 1:
        raise ValueError(f"pred and target must be 1-d of one length, got {pred.shape} and {target.shape}")
    p = pred[:, None] < pred[None, :]
    t = target[:, None] < target[None, :]
    return int(np.sum(p ^ t))


def bootstrap_losses(preds: np.ndarray, target: np.ndarray, rng: np.random.Generator, n_samples: int) -> np.ndarray:
    """(n_samples, n_models) ranking losses on resamples (with replacement) of the targets."""
    preds, target = np.atleast_2d(np.asarray(preds, dtype=float)), np.asarray(target, dtype=float)
    n = len(target)
    if preds.shape[1] != n:
        raise ValueError(f"preds must have one column per target ({n}), got shape {preds.shape}")
    # Every resample's pairwise disagreements are entries of one n x n matrix per model,
    # so a resample costs an index gather, not a re-comparison.
    t = target[:, None] < target[None, :]
    wrong = (preds[:, :, None] < preds[:, None, :]) ^ t[None, :, :]  # (models, n, n)
    idx = rng.integers(0, n, size=(n_samples, n))
    out = np.empty((n_samples, len(preds)), dtype=np.int64)
    for s in range(n_samples):
        i = idx[s]
        out[s] = wrong[:, i[:, None], i[None, :]].sum(axis=(1, 2))
    return out


def rung_weights(preds: np.ndarray, target: np.ndarray, rng: np.random.Generator, n_samples: int = 100) -> np.ndarray:
    """Weight per model (rows of ``preds``, lowest rung first): how often it ranks best.

    The weights sum to 1. ``n_samples`` bootstrap resamples of the targets are drawn
    from ``rng``; ties go to the model of the highest rung (the last row).
    """
    losses = bootstrap_losses(preds, target, rng, n_samples)
    n_models = losses.shape[1]
    # argmin taking the *last* minimum: reverse the columns, take the first, map back.
    winner = n_models - 1 - np.argmin(losses[:, ::-1], axis=1)
    counts = np.bincount(winner, minlength=n_models).astype(float)
    weights: np.ndarray = counts / counts.sum()
    return weights
