"""Cross-validation splits: a partition, stratified, fixed by the seed, and no leakage of
validation rows into the preprocessing a fold's training part is fitted with."""

import numpy as np
import pandas as pd
import pytest

from pipeline.tasks import Fidelity, TaskOptions, get_task
from pipeline.tasks.base import ImageTask
from pipeline.tasks.data import Fold, holdout_split, kfold_split, stratified_folds, trial_rows

Y = np.repeat(np.arange(4), [53, 31, 17, 9])  # 110 rows, unbalanced


@pytest.mark.parametrize("k", [2, 3, 5])
def test_folds_partition_the_rows_and_are_stratified(k):
    fold = stratified_folds(Y, k, seed=7)
    vals = [kfold_split(Y, k, i, seed=7)[1] for i in range(k)]
    assert sorted(np.concatenate(vals).tolist()) == list(range(len(Y)))  # each row validated exactly once
    for i, va in enumerate(vals):
        tr = kfold_split(Y, k, i, seed=7)[0]
        assert len(np.intersect1d(tr, va)) == 0 and len(tr) + len(va) == len(Y)
        assert np.array_equal(va, np.flatnonzero(fold == i))
    sizes = np.bincount(fold, minlength=k)
    assert sizes.max() - sizes.min() <= 1
    for c, n in enumerate(np.bincount(Y)):  # every class spread as evenly as its count allows
        per_fold = np.bincount(fold[Y == c], minlength=k)
        assert per_fold.max() - per_fold.min() <= 1 and per_fold.sum() == n


def test_folds_are_fixed_by_the_seed_and_change_with_it():
    assert np.array_equal(stratified_folds(Y, 5, seed=1), stratified_folds(Y, 5, seed=1))
    assert not np.array_equal(stratified_folds(Y, 5, seed=1), stratified_folds(Y, 5, seed=2))


def test_bad_fold_arguments_are_refused():
    with pytest.raises(ValueError, match="n_folds must be >= 2"):
        stratified_folds(Y, 1, seed=0)
    with pytest.raises(ValueError, match="cannot fill"):
        stratified_folds(Y[:3], 5, seed=0)
    with pytest.raises(ValueError, match="fold index"):
        kfold_split(Y, 3, 3, seed=0)


def test_cv_pool_is_every_labelled_row_and_holdout_is_unchanged():
    tr, va = trial_rows(Y, 0.2, 1.0, seed=3)
    assert (tr, va) and np.array_equal(va, holdout_split(Y, 0.2, 3)[1])  # stages: the fixed holdout
    pooled = np.concatenate([trial_rows(Y, 0.2, 1.0, 3, Fold(i, 4))[1] for i in range(4)])
    assert sorted(pooled.tolist()) == list(range(len(Y)))  # CV: train + val of the holdout, all of it
    half = np.concatenate([trial_rows(Y, 0.2, 0.5, 3, Fold(i, 4))[1] for i in range(4)])
    assert abs(len(half) - 55) <= 4 and set(half) < set(range(len(Y)))


class FakeImages(ImageTask):
    """A tiny image task whose raw data the test controls."""

    name = "fake"
    native_resolution = 4
    resolutions = (4,)

    def __init__(self, x, y):
        self.x, self.y = x, y

    def raw(self, options):
        return self.x, self.y


def test_image_fold_statistics_ignore_the_validation_rows():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    x = rng.random((60, 1, 4, 4)).astype(np.float32)
    fold = Fold(1, 3)
    _, val_idx = trial_rows(y, 0.2, 1.0, 0, fold)
    base = FakeImages(x, y).load(TaskOptions(), Fidelity(1.0, 4, 1), seed=0, fold=fold)
    x2 = x.copy()
    x2[val_idx] = 1000.0  # wildly different validation rows
    moved = FakeImages(x2, y).load(TaskOptions(), Fidelity(1.0, 4, 1), seed=0, fold=fold)
    np.testing.assert_array_equal(base.x_train, moved.x_train)  # training part untouched
    train_idx = np.setdiff1d(np.arange(60), val_idx)
    mean, std = x[train_idx].mean(), x[train_idx].std()
    np.testing.assert_allclose(moved.x_val, (1000.0 - mean) / std, rtol=1e-5)  # val scaled with train stats
    assert abs(base.x_train.mean()) < 1e-5 and abs(base.x_train.std() - 1) < 1e-4


def test_digits_folds_have_the_expected_sizes():
    task = get_task("digits")
    sizes = [len(task.load(TaskOptions(), Fidelity(1.0, 8, 1), 0, Fold(i, 5)).y_val) for i in range(5)]
    assert sum(sizes) == 1797 and max(sizes) - min(sizes) <= 1


def test_tabular_fold_preprocessing_is_fitted_on_training_rows_only(tmp_path):
    rng = np.random.default_rng(1)
    n = 60
    frame = pd.DataFrame(
        {"num": rng.normal(size=n), "cat": rng.choice(["a", "b"], size=n), "y": np.tile(["p", "q"], n // 2)}
    )
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    opts = TaskOptions(data_path=str(path), target="y")
    fold = Fold(0, 3)
    task = get_task("tabular")
    base = task.load(opts, Fidelity(), 0, fold)
    strata = (frame["y"] == "q").astype(int).to_numpy()
    _, val_idx = trial_rows(strata, 0.2, 1.0, 0, fold)
    changed = frame.copy()
    changed.loc[val_idx, "num"] = 1e6
    changed.loc[val_idx, "cat"] = "zzz"  # a category seen only in validation rows
    path2 = tmp_path / "t2.csv"
    changed.to_csv(path2, index=False)
    moved = task.load(TaskOptions(data_path=str(path2), target="y"), Fidelity(), 0, fold)
    np.testing.assert_array_equal(base.x_train, moved.x_train)
    assert moved.x_train.shape[1] == base.x_train.shape[1] == 1 + 2  # no column for "zzz"
    assert not moved.x_val[:, 1:].any()  # unseen category -> all zeros (OneHotEncoder handle_unknown="ignore")
