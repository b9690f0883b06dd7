"""A CSV or Parquet table, a target column, and an MLP.

Classification or regression (inferred from the target, or given). Every statistic
the features are transformed with (medians, means, scales, category lists) is fitted
on the training rows of the trial only, so nothing leaks from the validation rows.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from torch import nn

from pipeline import hparams
from pipeline.errors import UsageError
from pipeline.hparams import HyperparameterError
from pipeline.models import MLP
from pipeline.tasks.base import Fidelity, Task, TaskOptions, memo, optimizer_choice, trial_facts
from pipeline.tasks.data import ArrayData

if TYPE_CHECKING:
    from pipeline.context import TrialContext

PROBLEMS = ("classification", "regression")
MODELS = ("mlp", "gbm")  # the tabular model families (hyperparameter ``model``)
MAX_CATEGORIES = 50  # per column; rarer values share one "other" column
_MIN_ROWS = 10


def read_table(path: str) -> pd.DataFrame:
    """Read a table by extension; raises UsageError for anything a user can fix."""
    if not os.path.isfile(path):
        raise UsageError("data", f"file not found: {path}")
    ext = os.path.splitext(path)[1].lower()
    try:
        return _read_cached(os.path.abspath(path), os.path.getmtime(path), ext)
    except UsageError:
        raise
    except Exception as err:  # pandas raises many types for malformed files
        raise UsageError("data", f"cannot read {path}: {str(err).splitlines()[0]}") from None


@functools.lru_cache(maxsize=2)
def _read_cached(path: str, mtime: float, ext: str) -> pd.DataFrame:
    if ext in (".csv", ".txt"):
        return pd.read_csv(path)
    if ext in (".parquet", ".pq"):
        return pd.read_parquet(path)
    raise UsageError("data", f"unsupported file type '{ext}'; allowed: .csv, .parquet")


def infer_problem(target: pd.Series) -> str:
    """Text, boolean or few-valued integer targets are classes; anything else is regression."""
    if not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
        return "classification"
    if pd.api.types.is_integer_dtype(target) and target.nunique() <= 20:
        return "classification"
    return "regression"


@dataclass
class Preprocessor:
    """Median-impute and standardise numbers; one-hot encode everything else."""

    numeric: list[str]
    categorical: list[str]
    medians: dict[str, float] | None = None
    means: dict[str, float] | None = None
    stds: dict[str, float] | None = None
    categories: dict[str, list[str]] | None = None

    @classmethod
    def for_frame(cls, features: pd.DataFrame) -> Preprocessor:
        numeric = [
            c
            for c in features.columns
            if pd.api.types.is_numeric_dtype(features[c]) and not pd.api.types.is_bool_dtype(features[c])
        ]
        return cls(numeric, [c for c in features.columns if c not in numeric])

    def fit(self, train: pd.DataFrame) -> Preprocessor:
        self.medians = {c: float(train[c].median()) if train[c].notna().any() else 0.0 for c in self.numeric}
        filled = {c: train[c].fillna(self.medians[c]).astype(float) for c in self.numeric}
        self.means = {c: float(v.mean()) for c, v in filled.items()}
        self.stds = {c: float(v.std(ddof=0)) or 1.0 for c, v in filled.items()}
        self.categories = {}
        for c in self.categorical:
            counts = train[c].astype(str).value_counts()
            self.categories[c] = sorted(counts.index[:MAX_CATEGORIES])
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        cols = [
            ((frame[c].fillna(self.medians[c]).astype(float) - self.means[c]) / self.stds[c]).to_numpy()[:, None]
            for c in self.numeric
        ]
        for c in self.categorical:
            values = frame[c].astype(str).to_numpy()
            known = self.categories[c]
            onehot = (values[:, None] == np.asarray(known, dtype=object)[None, :]).astype(np.float32)
            other = (~onehot.any(axis=1)).astype(np.float32)[:, None]
            cols += [onehot, other]
        if not cols:
            return np.zeros((len(frame), 0), dtype=np.float32)
        return np.hstack(cols).astype(np.float32)


class TabularTask(Task):
    name = "tabular"
    options = ("data", "target", "problem")
    model_keys = ("hidden", "layers", "dropout")
    default_max_epochs = 30
    val_fraction = 0.2

    def problem(self, options: TaskOptions) -> str:
        if options.problem:
            return options.problem
        return infer_problem(read_table(options.data_path)[options.target].dropna())

    def is_classification(self, options: TaskOptions) -> bool:
        return self.problem(options) == "classification"

    def metric(self, options: TaskOptions) -> tuple[str, str]:
        return ("val_accuracy", "max") if self.is_classification(options) else ("val_rmse", "min")

    def check(self, options: TaskOptions, fidelity: Fidelity) -> None:
        if not options.data_path:
            raise UsageError("data", "the tabular task needs a CSV or Parquet file (--data FILE)")
        frame = read_table(options.data_path)
        if not options.target:
            raise UsageError(
                "target", f"the tabular task needs a target column (--target); columns: {_names(frame.columns)}"
            )
        if options.target not in frame.columns:
            raise UsageError(
                "target", f"no column '{options.target}' in {options.data_path}; columns: {_names(frame.columns)}"
            )
        if options.problem is not None and options.problem not in PROBLEMS:
            raise UsageError("problem", f"must be one of {', '.join(PROBLEMS)}, got {options.problem!r}")
        if fidelity.resolution is not None:
            raise UsageError("resolution", "the tabular task has no image resolution; leave it unset")
        target = frame[options.target].dropna()
        if len(target) < _MIN_ROWS:
            raise UsageError("data", f"needs at least {_MIN_ROWS} rows with a target, found {len(target)}")
        problem = self.problem(options)
        if problem == "classification" and target.nunique() < 2:
            raise UsageError("target", f"column '{options.target}' has a single class")
        if problem == "regression" and not pd.api.types.is_numeric_dtype(target):
            raise UsageError("problem", f"regression needs a numeric target; '{options.target}' is {target.dtype}")
        if frame.shape[1] < 2:
            raise UsageError("data", "needs at least one feature column besides the target")

    def check_folds(self, options: TaskOptions, folds: int) -> None:
        """Stratified folds need every class in every fold; any split needs a row per fold."""
        target = read_table(options.data_path)[options.target].dropna()
        if self.problem(options) == "classification":
            counts = target.value_counts()
            if counts.min() < folds:
                raise UsageError(
                    "cv.folds",
                    f"({folds}) exceeds the rows of class {counts.idxmin()!r} in column '{options.target}' "
                    f"({counts.min()}); use at most {counts.min()} folds",
                )
        elif len(target) < folds:
            raise UsageError("cv.folds", f"({folds}) exceeds the {len(target)} rows with a target")

    def load_for(self, options: TaskOptions, ctx: TrialContext) -> ArrayData:
        problem = self.problem(options)
        key = (self, options, problem, ctx.data_fraction, ctx.seed, ctx.fold)
        return memo(key, lambda: _load_tabular(options, problem, ctx))

    def parse_hparams(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """``model`` picks the family: ``mlp`` (default) or ``gbm``, a name or a branch dict
        (``{name: gbm, max_leaf_nodes: ...}``) whose entries join the top-level keys."""
        from pipeline import gbm

        config = dict(config)
        model = config.pop("model", "mlp")
        if isinstance(model, Mapping):
            if "name" not in model:
                raise HyperparameterError("model", f"a branch needs 'name' ({', '.join(MODELS)})")
            config.update({k: v for k, v in model.items() if k != "name"})
            model = model["name"]
        if model not in MODELS:
            raise HyperparameterError("model", f"must be one of {', '.join(MODELS)}, got {model!r}")
        mlp_keys = (*self.model_keys, *hparams.MLP_SHARED_KEYS)
        if model == "gbm":
            return gbm.parse(config, other_model_keys=mlp_keys)
        mlp_config = {k: v for k, v in config.items() if k not in gbm.KEYS or k in mlp_keys}
        return {**hparams.parse(mlp_config, self.model_keys), "model": "mlp"}

    def fit(self, hp: dict[str, Any], data: ArrayData, options: TaskOptions, ctx: TrialContext) -> None:
        if hp["model"] == "gbm":
            from pipeline.gbm import fit_gbm

            return fit_gbm(hp, data, self.is_classification(options), ctx, trial_facts(data))
        return super().fit(hp, data, options, ctx)

    def build_model(self, hp: dict[str, Any], data: ArrayData, fidelity: Fidelity) -> nn.Module:
        return MLP(
            data.x_train.shape[1], data.n_outputs, hidden=hp["hidden"], layers=hp["layers"], dropout=hp["dropout"]
        )

    def default_space(self) -> dict[str, Any]:
        return {
            "optimizer": optimizer_choice(),
            "batch_size": {"type": "categorical", "choices": [32, 64, 128, 256]},
            "hidden": {"type": "int", "low": 16, "high": 256, "log": True},
            "layers": {"type": "int", "low": 1, "high": 3},
            "dropout": {"type": "float", "low": 0.0, "high": 0.5},
        }


def _load_tabular(options: TaskOptions, problem: str, ctx: TrialContext) -> ArrayData:
    frame = read_table(options.data_path)
    frame = frame[frame[options.target].notna()].reset_index(drop=True)
    target = frame[options.target]
    features = frame.drop(columns=[options.target])
    classification = problem == "classification"
    if classification:
        classes = sorted(target.astype(str).unique())
        y = np.searchsorted(np.asarray(classes, dtype=object), target.astype(str).to_numpy()).astype(np.int64)
    else:
        y = target.to_numpy(dtype=np.float64)
    train_idx, val_idx = ctx.split(y, TabularTask.val_fraction, stratify=classification)
    prep = Preprocessor.for_frame(features).fit(features.iloc[train_idx])
    x_tr, x_va = prep.transform(features.iloc[train_idx]), prep.transform(features.iloc[val_idx])
    if classification:
        return ArrayData(x_tr, y[train_idx], x_va, y[val_idx], len(classes))
    mean, std = float(y[train_idx].mean()), float(y[train_idx].std()) or 1.0
    return ArrayData(
        x_tr,
        ((y[train_idx] - mean) / std).astype(np.float32),
        x_va,
        ((y[val_idx] - mean) / std).astype(np.float32),
        1,
        y_scale=std,
    )


def _names(columns) -> str:
    names = [str(c) for c in columns]
    return ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "")
