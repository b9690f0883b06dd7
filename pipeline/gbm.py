"""Gradient boosting for the tabular task: scikit-learn's HistGradientBoosting, one
"epoch" at a time.

Its fidelity is the data fraction (the context's rows, like the MLP's) and the number of
boosting iterations: epoch ``e`` grows the ensemble to ``e * trees_per_epoch`` trees
(``warm_start`` adds trees to the fitted ones), so a scheduler judges a configuration at
a few trees and promotes it to more, and ``max_epochs`` caps the trees. The knob
``trees_per_epoch`` (default 10) sets the step. The fitted estimator is the checkpoint:
a paused or resumed trial continues with the trees it has.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from pipeline.hparams import HyperparameterError
from pipeline.tasks.data import ArrayData

DEFAULT_TREES_PER_EPOCH = 10

#: GBM hyperparameters: default, kind, check, what is allowed
_RULES: dict[str, tuple[Any, type, Any, str]] = {
    "lr": (0.1, float, lambda v: 0 < v <= 1, "a number in (0, 1]"),
    "max_leaf_nodes": (31, int, lambda v: v >= 2, "an integer >= 2"),
    "min_samples_leaf": (20, int, lambda v: v >= 1, "an integer >= 1"),
    "l2_regularization": (0.0, float, lambda v: v >= 0, "a number >= 0"),
    "max_bins": (255, int, lambda v: 2 <= v <= 255, "an integer in [2, 255]"),
}
KEYS = tuple(_RULES)


def parse(config: Mapping[str, Any], other_model_keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """GBM hyperparameters with defaults filled in. Keys of the other model family
    (``other_model_keys``: a space with ``model: mlp | gbm`` draws both) are ignored; any
    other unknown key is an error."""
    unknown = sorted(set(config) - set(KEYS) - set(other_model_keys))
    if unknown:
        raise HyperparameterError(unknown[0], f"unknown hyperparameter for model gbm; allowed: {', '.join(KEYS)}")
    out = {"model": "gbm"}
    for key, (default, kind, ok, allowed) in _RULES.items():
        value = config.get(key, default)
        if key == "lr" and isinstance(config.get("optimizer"), Mapping) and "lr" in config["optimizer"]:
            value = config["optimizer"]["lr"]  # the learning rate of the MLP's optimizer branch
        if isinstance(value, bool):
            raise HyperparameterError(key, f"must be {allowed}, got {value!r}")
        try:
            v = kind(value)
        except (TypeError, ValueError):
            raise HyperparameterError(key, f"must be {allowed}, got {value!r}") from None
        if (kind is int and float(value) != v) or (kind is float and not math.isfinite(v)) or not ok(v):
            raise HyperparameterError(key, f"must be {allowed}, got {value!r}")
        out[key] = v
    return out


def estimator(hp: dict[str, Any], classification: bool, seed: int, trees: int) -> Any:
    """An unfitted HistGradientBoosting model of ``hp`` growing ``trees`` trees."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingClassifier if classification else HistGradientBoostingRegressor
    return cls(
        learning_rate=hp["lr"],
        max_leaf_nodes=hp["max_leaf_nodes"],
        min_samples_leaf=hp["min_samples_leaf"],
        l2_regularization=hp["l2_regularization"],
        max_bins=hp["max_bins"],
        max_iter=trees,
        warm_start=True,
        early_stopping=False,
        random_state=seed,
    )


def trees_per_epoch(ctx: Any) -> int:
    step = int(ctx.knob("trees_per_epoch", DEFAULT_TREES_PER_EPOCH))
    if step < 1:
        raise ValueError(f"knobs.trees_per_epoch must be an integer >= 1, got {step}")
    return step


def refit_gbm(hp: dict[str, Any], data: ArrayData, classification: bool, ctx: Any) -> Any:
    """The winner's ensemble on all of ``data.x_train``: the trees its trials grew at
    ``max_epochs`` (``max_epochs * trees_per_epoch``), in one fit."""
    model = estimator(hp, classification, ctx.seed, ctx.max_epochs * trees_per_epoch(ctx))
    model.set_params(warm_start=False)
    return model.fit(data.x_train, data.y_train)


def fit_gbm(hp: dict[str, Any], data: ArrayData, classification: bool, ctx, extra: dict[str, Any]) -> None:
    """Grow the ensemble epoch by epoch, reporting the same metrics as the MLP."""
    step = trees_per_epoch(ctx)
    state = ctx.load_state()
    if state is not None:
        model, start = state["model"], int(state["epoch"])
    else:
        model, start = estimator(hp, classification, ctx.seed, step), 0
    for epoch in range(start + 1, ctx.max_epochs + 1):
        model.set_params(max_iter=epoch * step)
        model.fit(data.x_train, data.y_train)
        metrics = {"epoch": epoch, "n_trees": int(model.n_iter_), **extra, **gbm_cost(model, data.x_train)}
        metrics.update(_scores(model, data, classification))
        ctx.report(metrics, state={"model": model, "epoch": epoch})


def gbm_cost(model, x: np.ndarray) -> dict[str, Any]:
    """The ensemble's cost metrics, every epoch (it grows): ``params`` is the number of
    leaves over all trees (each holds one fitted value; split nodes are not counted) and
    ``latency_ms`` the median time to predict a fixed batch (pipeline.cost_metrics). No
    ``flops``: tree traversal is comparisons, which torch's counter does not see."""
    from pipeline.cost_metrics import fixed_batch, median_ms

    leaves = sum(tree.get_n_leaf_nodes() for trees in model._predictors for tree in trees)
    batch = fixed_batch(x)
    return {"params": int(leaves), "latency_ms": median_ms(lambda: model.predict(batch))}


def _scores(model, data: ArrayData, classification: bool) -> dict[str, float]:
    if classification:
        labels = np.arange(data.n_outputs)
        return {
            "train_loss": _log_loss(model, data.x_train, data.y_train, labels),
            "val_loss": _log_loss(model, data.x_val, data.y_val, labels),
            "val_accuracy": float((model.predict(data.x_val) == data.y_val).mean()),
        }
    pred_tr, pred_va = model.predict(data.x_train), model.predict(data.x_val)
    mse_tr = float(np.mean((pred_tr - data.y_train) ** 2))
    mse = float(np.mean((pred_va - data.y_val) ** 2))
    var = float(np.var(data.y_val))
    return {
        "train_loss": mse_tr,
        "val_loss": mse,
        "val_rmse": math.sqrt(mse) * data.y_scale,
        "val_r2": 1.0 - mse / var if var > 0 else float("nan"),
    }


def _log_loss(model, x: np.ndarray, y: np.ndarray, labels: np.ndarray) -> float:
    """Cross-entropy in nats, over every class of the task (a fold may miss a class)."""
    proba = np.zeros((len(x), len(labels)))
    proba[:, model.classes_] = model.predict_proba(x)
    p = np.clip(proba[np.arange(len(y)), y], 1e-15, 1.0)
    return float(-np.mean(np.log(p)))
