"""Your own scikit-learn model under mftune: gradient boosting on the breast-cancer data.

Run it (from the repository root)::

    PYTHONPATH=docs/examples python -m pipeline.run --config docs/examples/own-model-sklearn.yaml

The fidelity here is the share of the rows (``data_fraction``, through ``ctx.split``) and
a knob of this model's own, the number of boosting iterations (``knobs: {max_iter: ...}``
in each stage, read with ``ctx.knob``). The model trains in one go, so it reports once;
the fitted estimator is the trial's checkpoint. ``refit`` (named in the YAML as
``refit: own_model_sklearn:refit``) trains the winner on every row and returns it: the
pipeline saves it as ``model/`` and ``pipeline.model.load_model`` gives it back.
"""

from __future__ import annotations

from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier

from pipeline import trial_context


def make_model(config: dict) -> HistGradientBoostingClassifier:
    ctx = trial_context()
    return HistGradientBoostingClassifier(
        max_iter=int(ctx.knob("max_iter", 100)),  # the stage's knob; 100 outside the pipeline
        learning_rate=config["learning_rate"],
        max_leaf_nodes=int(config["max_leaf_nodes"]),
        l2_regularization=config["l2_regularization"],
        early_stopping=False,
        random_state=ctx.seed,
    )


def train(config: dict) -> None:
    ctx = trial_context()
    x, y = load_breast_cancer(return_X_y=True)  # your data: 569 rows, 30 features, 2 classes
    train_idx, val_idx = ctx.split(y)  # this stage's rows (holdout, data_fraction) or this CV fold
    model = make_model(config).fit(x[train_idx], y[train_idx])
    ctx.report(
        {"val_accuracy": model.score(x[val_idx], y[val_idx]), "n_train": len(train_idx), "n_iter": model.n_iter_},
        state=model,
    )


def refit(config: dict) -> HistGradientBoostingClassifier:
    """The winner on every row (the refit's ``ctx.split`` gives them all), at the last
    stage's ``max_iter``; the pipeline pickles what this returns into ``model/``."""
    x, y = load_breast_cancer(return_X_y=True)
    train_idx, _ = trial_context().split(y)
    return make_model(config).fit(x[train_idx], y[train_idx])
