"""The tabular task's gradient-boosting model (``model: gbm``): its hyperparameters, its
fidelity (data fraction through the context, trees grown per epoch), its checkpoint."""

import numpy as np
import pandas as pd
import pytest

from pipeline.config import build
from pipeline.context import ContextSetup, bind, trial_context
from pipeline.errors import UsageError
from pipeline.fidelity import Fidelity
from pipeline.hparams import HyperparameterError
from pipeline.tasks import TaskOptions, get_task
from pipeline.trainable import builtin_trainable

TABULAR = get_task("tabular")


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.choice(["x", "y", "z"], n)})
    df["label"] = np.where(df["a"] + (df["c"] == "x") > 0.4, "yes", "no")
    df["price"] = 3 * df["a"] - df["b"] + rng.normal(scale=0.1, size=n)
    path = tmp_path_factory.mktemp("gbm") / "t.csv"
    df.to_csv(path, index=False)
    return str(path)


def run(options, fidelity, config, seed=1):
    seen = []
    fn = builtin_trainable("tabular", options)

    def spy(cfg):
        fn(cfg)
        seen.append(trial_context())

    bind(spy, ContextSetup(fidelity, seed=seed))(config)
    return seen[0]


def test_gbm_grows_trees_per_epoch_on_the_context_rows(table):
    opts = TaskOptions(data_path=table, target="label")
    ctx = run(opts, Fidelity(0.5, None, 3, (("trees_per_epoch", 4),)), {"model": "gbm", "max_leaf_nodes": 8})
    metrics = [m for m, _ in ctx.reports]
    assert [m["n_trees"] for m in metrics] == [4, 8, 12] and [m["epoch"] for m in metrics] == [1, 2, 3]
    labels = np.asarray(pd.read_csv(table)["label"] == "yes", dtype=np.int64)
    assert {m["n_train"] for m in metrics} == {len(ctx.split(labels, 0.2)[0])}  # half the holdout's training rows
    assert metrics[-1]["val_accuracy"] > 0.85 and metrics[-1]["train_loss"] < metrics[0]["train_loss"]
    _, state = ctx.reports[-1]
    assert state["epoch"] == 3 and state["model"].n_iter_ == 12  # the checkpoint is the fitted ensemble


def test_gbm_regression_reports_rmse_in_target_units(table):
    opts = TaskOptions(data_path=table, target="price", problem="regression")
    ctx = run(opts, Fidelity(1.0, None, 2), {"model": {"name": "gbm", "lr": 0.3}})
    metrics = ctx.reports[-1][0]
    assert metrics["n_trees"] == 20  # the default 10 trees per epoch
    assert metrics["val_r2"] > 0.9 and 0 < metrics["val_rmse"] < 1.5  # target std is about 3.2


def test_model_choice_and_its_keys_are_checked():
    assert TABULAR.parse_hparams({})["model"] == "mlp"
    gbm = TABULAR.parse_hparams({"model": "gbm", "optimizer": {"name": "adam", "lr": 0.05}, "hidden": 8})
    assert gbm["lr"] == 0.05 and gbm["max_leaf_nodes"] == 31  # MLP keys of a mixed space are ignored
    mlp = TABULAR.parse_hparams({"model": "mlp", "max_leaf_nodes": 8, "hidden": 8})
    assert mlp["hidden"] == 8 and "max_leaf_nodes" not in mlp
    for config, key in [
        ({"model": "forest"}, "model"),
        ({"model": {"max_leaf_nodes": 3}}, "model"),
        ({"model": "gbm", "max_leaf_nodes": 1}, "max_leaf_nodes"),
        ({"model": "gbm", "trees": 3}, "trees"),
    ]:
        with pytest.raises(HyperparameterError) as err:
            TABULAR.parse_hparams(config)
        assert err.value.key == key


def test_a_space_with_both_families_is_valid_and_a_bad_gbm_key_is_one_line(table, tmp_path):
    space = {
        "model": {
            "type": "categorical",
            "choices": [
                {"name": "mlp", "hidden": {"type": "int", "low": 8, "high": 32}},
                {"name": "gbm", "max_leaf_nodes": {"type": "int", "low": 4, "high": 32}},
            ],
        },
        "lr": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
    }
    raw = {"task": "tabular", "data": table, "target": "label", "search_space": space, "output": str(tmp_path / "o")}
    build(raw)
    space["model"]["choices"][1]["max_leaf_nodes"] = {"type": "int", "low": 1, "high": 32}
    with pytest.raises(UsageError, match=r"^search_space.max_leaf_nodes: must be an integer >= 2, got 1"):
        build(raw)


@pytest.mark.ray
def test_gbm_through_two_stages_and_cv(table, tmp_path):
    import json
    import subprocess
    import sys

    from tests.pipeline_runs import ROOT

    cfg = tmp_path / "gbm.yaml"
    cfg.write_text(
        f"""
task: tabular
data: {table}
target: label
search_space:
  model: gbm
  lr: {{type: float, low: 0.02, high: 0.5, log: true}}
  max_leaf_nodes: {{type: int, low: 4, high: 32, log: true}}
stages:
  - {{name: few, data_fraction: 0.5, max_epochs: 2, knobs: {{trees_per_epoch: 3}}, scheduler: asha, budget: {{trials: 4}}, top_k: 2}}
  - {{name: more, max_epochs: 2, knobs: {{trees_per_epoch: 15}}, budget: {{trials: 2}}}}
cv: {{folds: 2, top_k: 2}}
"""
    )
    out = tmp_path / "exp"
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.run", "--config", str(cfg), "--output", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr
    trials = pd.read_csv(out / "trials.csv")
    few, more = trials[trials["stage"] == "few"], trials[trials["stage"] == "more"]
    assert set(few["n_trees"]) <= {3, 6} and set(more["n_trees"]) == {30}
    assert few["n_train"].max() < more["n_train"].min()  # half the rows, then all
    best = json.loads((out / "best.json").read_text())
    assert best["config"]["model"] == "gbm" and len(best["cv_scores"]) == 2 and best["cv_mean"] > 0.8
