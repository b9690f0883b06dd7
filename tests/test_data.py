"""Fidelity helpers: fixed validation split, nested stratified subsets, downsampling."""

import numpy as np
import pytest

from pipeline.tasks.data import downsample, holdout_split, nested_subset

Y = np.repeat(np.arange(5), [100, 50, 30, 20, 10])


def test_holdout_is_stratified_disjoint_and_fixed_by_seed():
    tr, va = holdout_split(Y, 0.2, seed=3)
    assert len(np.intersect1d(tr, va)) == 0 and len(tr) + len(va) == len(Y)
    assert np.bincount(Y[va]).tolist() == [20, 10, 6, 4, 2]
    tr2, va2 = holdout_split(Y, 0.2, seed=3)
    assert np.array_equal(va, va2)
    assert not np.array_equal(va, holdout_split(Y, 0.2, seed=4)[1])


def test_subsets_are_stratified_nested_and_keep_every_class():
    small, mid, full = (nested_subset(Y, f, seed=1) for f in (0.05, 0.3, 1.0))
    assert np.bincount(Y[mid]).tolist() == [30, 15, 9, 6, 3]
    assert np.bincount(Y[small], minlength=5).min() >= 1
    assert set(small) <= set(mid) <= set(full) and len(full) == len(Y)
    with pytest.raises(ValueError):
        nested_subset(Y, 0.0, seed=1)


def test_downsample_averages_blocks():
    img = np.arange(16, dtype=float).reshape(1, 1, 4, 4)
    out = downsample(img, 2)
    assert out.shape == (1, 1, 2, 2)
    assert out[0, 0].tolist() == [[2.5, 4.5], [10.5, 12.5]]
    with pytest.raises(ValueError):
        downsample(img, 3)
