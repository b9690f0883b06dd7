"""A CSV or Parquet table, a target column, and an MLP.

Classification or regression (inferred from the target, or given). The features go
through a scikit-learn ColumnTransformer (:func:`preprocessor`) fitted on the training
rows of the trial only (per fold in CV), so nothing leaks from the validation rows; the
refitted winner saves it in ``model/``, so that its ``predict`` takes raw DataFrames.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pipeline import hparams
from pipeline.errors import UsageError
from pipeline.hparams import HyperparameterError
from pipeline.models import MLP
from pipeline.tasks.base import Fidelity, Task, TaskOptions, memo, optimizer_choice, trial_facts
from pipeline.tasks.data import ArrayData

if TYPE_CHECKING:
    from sklearn.compose import ColumnTransformer

    from pipeline.context import TrialContext
    from pipeline.model import Model

PROBLEMS = ("classification", "regression")
MODELS = ("mlp", "gbm")  # the tabular model families (hyperparameter ``model``)
MAX_CATEGORIES = 50  # one-hot columns per categorical column; rarer values share one
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


def _as_text(frame: pd.DataFrame) -> np.ndarray:
    """Categorical cells as strings, missing ones as NaN (for SimpleImputer): a column of
    mixed types (numbers and text, booleans) is then one vocabulary of strings."""
    values = frame.astype(object)
    return values.where(values.isna(), values.astype(str)).to_numpy(dtype=object)


def preprocessor(features: pd.DataFrame) -> ColumnTransformer:
    """An unfitted scikit-learn ColumnTransformer for ``features``' columns.

    Numbers (not booleans): median-imputed, then standardised. Everything else: cast to
    text, missing values become their own category, then one-hot encoded; the
    ``MAX_CATEGORIES`` most frequent values of a column get a column each and the rarer
    ones share one, and a value never seen in training encodes as all zeros
    (``handle_unknown="ignore"``). Fit it on a trial's training rows only.
    """
    # imported here, not at the top: every trial worker imports the task registry, and
    # scikit-learn (with SciPy) adds 1-2 s to each worker's start for tasks that never use it
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    numeric = [
        c
        for c in features.columns
        if pd.api.types.is_numeric_dtype(features[c]) and not pd.api.types.is_bool_dtype(features[c])
    ]
    categorical = [c for c in features.columns if c not in numeric]
    return ColumnTransformer(
        [
            (
                "numeric",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                        ("scale", StandardScaler()),
                    ]
                ),
                numeric,
            ),
            (
                "categorical",
                Pipeline(
                    [
                        ("text", FunctionTransformer(_as_text)),
                        ("impute", SimpleImputer(strategy="constant", fill_value="(missing)")),
                        (
                            "onehot",
                            OneHotEncoder(handle_unknown="ignore", max_categories=MAX_CATEGORIES, sparse_output=False),
                        ),
                    ]
                ),
                categorical,
            ),
        ],
        sparse_threshold=0.0,
    )


def transform(prep: ColumnTransformer, frame: pd.DataFrame) -> np.ndarray:
    """``frame`` through a fitted preprocessor, as float32 (zero columns when it has none)."""
    return np.asarray(prep.transform(frame), dtype=np.float32).reshape(len(frame), -1)


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

    def architecture(self, hp: dict[str, Any], data: ArrayData) -> dict[str, Any]:
        kwargs = {
            "n_inputs": int(data.x_train.shape[1]),
            "n_outputs": int(data.n_outputs),
            "hidden": int(hp["hidden"]),
            "layers": int(hp["layers"]),
            "dropout": float(hp["dropout"]),
        }
        return {"class": MLP.__name__, "kwargs": kwargs}

    def refit(self, hp: dict[str, Any], options: TaskOptions, ctx: TrialContext) -> Model:
        """The winner on every labelled row, with the ColumnTransformer fitted on them: its
        ``predict`` takes a raw DataFrame with the table's feature columns. No test score:
        the table has no test split (every row with a target is tuned on)."""
        from pipeline.model import Model
        from pipeline.tasks.base import refit_net

        problem = self.problem(options)
        classification = problem == "classification"
        frame = read_table(options.data_path)
        frame = frame[frame[options.target].notna()].reset_index(drop=True)
        target, features = frame[options.target], frame.drop(columns=[options.target])
        y, classes = _labels(target) if classification else (target.to_numpy(dtype=np.float64), None)
        rows, _ = ctx.split(y, self.val_fraction, stratify=classification)  # in a refit: every row
        prep = preprocessor(features).fit(features.iloc[rows])
        x = transform(prep, features.iloc[rows])
        y_mean, y_std = 0.0, 1.0
        if not classification:
            y_mean, y_std = float(y[rows].mean()), float(y[rows].std()) or 1.0
        y_fit = y[rows] if classification else ((y[rows] - y_mean) / y_std).astype(np.float32)
        data = ArrayData(x, y_fit, x[:0], y_fit[:0], len(classes) if classes else 1, y_scale=y_std)
        manifest: dict[str, Any] = {
            "input": {"type": "table", "columns": [str(c) for c in features.columns]},
            "target": options.target,
            "problem": problem,
            "classes": classes,
            "y_mean": y_mean,
            "y_std": y_std,
            "n_train": len(rows),
        }
        if hp["model"] == "gbm":
            from pipeline.gbm import refit_gbm

            estimator = refit_gbm(hp, data, classification, ctx)
            return Model({**manifest, "kind": "sklearn"}, estimator=estimator, preprocess=prep)
        arch = self.architecture(hp, data)
        net, train_loss = refit_net(arch, data, hp, classification, ctx)
        return Model(
            {**manifest, "kind": "torch", "architecture": arch, "train_loss": train_loss}, net, preprocess=prep
        )

    def default_space(self) -> dict[str, Any]:
        return {
            "optimizer": optimizer_choice(),
            "batch_size": {"type": "categorical", "choices": [32, 64, 128, 256]},
            "hidden": {"type": "int", "low": 16, "high": 256, "log": True},
            "layers": {"type": "int", "low": 1, "high": 3},
            "dropout": {"type": "float", "low": 0.0, "high": 0.5},
        }


def _labels(target: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Class indices of a target column (classes sorted as text, as every trial has them),
    and each class's original value (what a saved model's ``predict`` returns)."""
    text = target.astype(str)
    names = sorted(text.unique())
    y = np.searchsorted(np.asarray(names, dtype=object), text.to_numpy()).astype(np.int64)
    first = dict(zip(text[::-1], target[::-1]))  # a class's value at its first row
    return y, [v.item() if isinstance(v, np.generic) else v for v in (first[n] for n in names)]


def _load_tabular(options: TaskOptions, problem: str, ctx: TrialContext) -> ArrayData:
    frame = read_table(options.data_path)
    frame = frame[frame[options.target].notna()].reset_index(drop=True)
    target = frame[options.target]
    features = frame.drop(columns=[options.target])
    classification = problem == "classification"
    if classification:
        y, classes = _labels(target)
    else:
        y = target.to_numpy(dtype=np.float64)
    train_idx, val_idx = ctx.split(y, TabularTask.val_fraction, stratify=classification)
    prep = preprocessor(features).fit(features.iloc[train_idx])
    x_tr, x_va = transform(prep, features.iloc[train_idx]), transform(prep, features.iloc[val_idx])
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
