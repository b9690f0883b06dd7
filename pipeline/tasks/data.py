"""Pure array helpers behind every task's fidelity knobs (no torch, no Ray).

The rules that make multi-fidelity comparisons fair live here: the validation split
depends only on the seed (never on the fidelity), and a data fraction is a stratified,
*nested* subset (the 10 % rows are inside the 30 % rows), so a configuration judged
on less data is judged on a prefix of what it will see later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.fidelity import Fold

__all__ = ["ArrayData", "Fold", "holdout_split", "kfold_split", "nested_subset", "stratified_folds", "trial_rows"]


@dataclass(frozen=True)
class ArrayData:
    """Training and validation arrays of one trial, after every fidelity knob."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    n_outputs: int  # classes for classification, 1 for regression
    y_scale: float = 1.0  # std of a standardised regression target, to report RMSE in its units


def _class_permutations(y: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Indices of each class (sorted by class label), each in a seeded random order."""
    return [rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)]


def holdout_split(
    y: np.ndarray, val_fraction: float, seed: int, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (stratified) split of ``range(len(y))`` into sorted train and val indices."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    rng = np.random.default_rng([seed, 0x5EED])
    groups = _class_permutations(y, rng) if stratify else [rng.permutation(len(y))]
    val = [g[: max(1, int(round(val_fraction * len(g))))] if len(g) > 1 else g[:0] for g in groups]
    val_idx = np.sort(np.concatenate(val))
    train_idx = np.setdiff1d(np.arange(len(y)), val_idx)
    return train_idx, val_idx


def nested_subset(y: np.ndarray, fraction: float, seed: int, stratify: bool = True) -> np.ndarray:
    """Sorted positions (into ``y``) of a seeded subset of about ``fraction`` of the rows.

    Per class, rows are taken as a prefix of one seeded permutation, so subsets for
    growing fractions are nested, and every class keeps at least one row.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if fraction == 1.0:
        return np.arange(len(y))
    rng = np.random.default_rng([seed, 0xF4AC])
    groups = _class_permutations(y, rng) if stratify else [rng.permutation(len(y))]
    keep = [g[: max(1, int(round(fraction * len(g))))] for g in groups]
    return np.sort(np.concatenate(keep))


def stratified_folds(y: np.ndarray, n_folds: int, seed: int, stratify: bool = True) -> np.ndarray:
    """Fold number (0..n_folds-1) of every row: seeded, and per class as even as possible.

    Rows of each class are dealt round-robin in a seeded order, with each class starting
    where the previous one stopped, so fold sizes differ by at most one row overall and
    every class's count differs by at most one between folds.
    """
    if n_folds < 2:
        raise ValueError(f"n_folds must be >= 2, got {n_folds}")
    if len(y) < n_folds:
        raise ValueError(f"{len(y)} rows cannot fill {n_folds} folds")
    rng = np.random.default_rng([seed, 0xF01D])
    groups = _class_permutations(y, rng) if stratify else [rng.permutation(len(y))]
    fold = np.empty(len(y), dtype=np.int64)
    offset = 0
    for g in groups:
        fold[g] = (offset + np.arange(len(g))) % n_folds
        offset += len(g)
    return fold


def kfold_split(
    y: np.ndarray, n_folds: int, index: int, seed: int, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, val) positions of fold ``index``: val is that fold, train the others."""
    if not 0 <= index < n_folds:
        raise ValueError(f"fold index must be in [0, {n_folds}), got {index}")
    fold = stratified_folds(y, n_folds, seed, stratify)
    return np.flatnonzero(fold != index), np.flatnonzero(fold == index)


def trial_rows(
    y: np.ndarray, val_fraction: float, fraction: float, seed: int, fold: Fold | None = None, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, val) row positions one trial sees.

    Tuning stages (``fold`` None) use the fixed holdout split, with the training rows
    subsampled to ``fraction``. Cross-validation uses every labelled row (the tuning
    pool: holdout train + val), subsampled to ``fraction``, split into folds; each task
    then fits its preprocessing on the returned training rows only.
    """
    if fold is None:
        train_idx, val_idx = holdout_split(y, val_fraction, seed, stratify)
        return train_idx[nested_subset(y[train_idx], fraction, seed, stratify)], val_idx
    pool = nested_subset(y, fraction, seed, stratify)
    tr, va = kfold_split(y[pool], fold.n_folds, fold.index, seed, stratify)
    return pool[tr], pool[va]


def downsample(images: np.ndarray, resolution: int) -> np.ndarray:
    """Average-pool square images ``(n, c, s, s)`` to ``(n, c, resolution, resolution)``."""
    n, c, h, w = images.shape
    if h != w or h % resolution:
        raise ValueError(f"cannot downsample {h}x{w} images to {resolution}x{resolution}")
    k = h // resolution
    return images.reshape(n, c, resolution, k, resolution, k).mean(axis=(3, 5))
