"""The refit in real pipeline runs: fashion-mnist (tiny IDX files with a t10k test split)
writes model/ with a test score that load + predict reproduces; ``--no-refit`` writes no
model/; a custom trainable's refit hook runs after CV, and a driver SIGKILLed during the
refit is resumed by redoing the refit only (a second resume does nothing again)."""

import gzip
import json
import math
import os
import struct
import textwrap

import numpy as np
import pandas as pd
import pytest

from pipeline.layout import MODEL_DIR
from pipeline.model import MANIFEST, load_model
from tests.pipeline_runs import completed, kill_tree, start, wait_for

pytestmark = pytest.mark.ray
TIMEOUT_S = 300


def fake_fashion(folder, n_train=240, n_test=80, seed=0):
    """IDX files shaped like Fashion-MNIST's: 4 classes, each a bright quadrant plus noise."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)

    def images(n):
        y = np.arange(n) % 4
        x = rng.normal(40, 20, size=(n, 28, 28))
        for i, c in enumerate(y):
            r, q = divmod(int(c), 2)
            x[i, 14 * r : 14 * r + 14, 14 * q : 14 * q + 14] += 150
        return np.clip(x, 0, 255).astype(np.uint8), y.astype(np.uint8)

    for prefix, n in (("train", n_train), ("t10k", n_test)):
        x, y = images(n)
        with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(struct.pack(">IIII", 0x0803, n, 28, 28) + x.tobytes())
        with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(struct.pack(">II", 0x0801, n) + y.tobytes())
    return folder


def test_fashion_refit_saves_a_model_whose_predictions_give_the_reported_scores(tmp_path, ray_local, monkeypatch):
    from pipeline import load_experiment, refit
    from pipeline.api import tune
    from pipeline.tasks.data import holdout_split
    from pipeline.tasks.fashion_mnist import FashionMNISTTask, _load

    monkeypatch.setattr(refit, "in_driver", lambda cfg: False)  # the Ray-task path (clusters, GPUs)
    data = fake_fashion(tmp_path / "fm")
    out = tmp_path / "exp"
    result = tune(
        "fashion-mnist",
        data_dir=str(data),
        num_samples=2,
        max_epochs=3,
        resolution=7,
        searcher="random",
        seed=0,
        output=str(out),
    )
    manifest = json.loads((out / MODEL_DIR / MANIFEST).read_text())
    best = json.loads((out / "best.json").read_text())
    assert manifest["task"] == "fashion-mnist" and manifest["config"] == best["config"] == result.best_config
    assert manifest["fidelity"] == {"data_fraction": 1.0, "resolution": 7, "max_epochs": 3}
    assert manifest["n_train"] == 240 and manifest["test_rows"] == 80  # every training image; the t10k split
    assert {"torch", "numpy", "scikit-learn", "python"} <= set(manifest["versions"])
    assert best["test_score"] == manifest["test_score"] == result.test_score is not None
    assert best["model"] == MODEL_DIR and "test accuracy" in (out / "report.md").read_text()

    # The test score is the accuracy of load + predict on the raw test images: the same
    # weights and inputs give the same logits, so only an argmax tie at float32 rounding
    # (summation order in another process) could flip a row: at most 1 of 80.
    x_test, y_test = _load(data / "t10k-images-idx3-ubyte.gz", data / "t10k-labels-idx1-ubyte.gz")
    model = load_model(out / MODEL_DIR)
    assert abs(np.mean(model.predict(x_test) == y_test) - best["test_score"]) <= 1 / len(y_test)
    raw_uint8 = (x_test[:, 0] * 255).round().astype(np.uint8)  # (n, 28, 28) bytes, as in the IDX file
    np.testing.assert_array_equal(model.predict(raw_uint8), model.predict(x_test))

    # On the validation rows the reported value came from, the refitted model (which also
    # trained on them) scores at least that value, less three binomial standard errors of
    # an accuracy over those rows; a broken normalisation or pooling lands near chance (1/4).
    x, y = _load(data / "train-images-idx3-ubyte.gz", data / "train-labels-idx1-ubyte.gz")
    _, val_idx = holdout_split(y, FashionMNISTTask.val_fraction, 0)
    p = best["value"]
    tolerance = 3 * math.sqrt(max(p * (1 - p), 1 / len(val_idx)) / len(val_idx))
    assert np.mean(model.predict(x[val_idx]) == y[val_idx]) >= p - tolerance
    assert np.array_equal(result.model.predict(x_test), load_experiment(out).model.predict(x_test))


def test_no_refit_writes_no_model(tmp_path, ray_local, capsys):
    from pipeline.run import main
    from pipeline.state import PipelineState

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=80), "b": rng.choice(["u", "v"], size=80)})
    frame["y"] = np.where(frame["a"] > 0, "p", "n")
    frame.to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "exp"
    args = ["--task", "tabular", "--data", str(tmp_path / "t.csv"), "--target", "y", "--num-samples", "2"]
    assert main([*args, "--max-epochs", "2", "--searcher", "random", "--no-refit", "--output", str(out)]) == 0
    assert not (out / MODEL_DIR).exists() and (out / "best.json").is_file()
    best = json.loads((out / "best.json").read_text())
    assert best["test_score"] is None and "model" not in best
    assert PipelineState.load(out).refit is None
    printed = capsys.readouterr().out
    assert "mftune: refit" not in printed and "mftune: model" not in printed


HOOK = """\
import os, time

import numpy as np
from sklearn.linear_model import LogisticRegression

from pipeline import trial_context

RNG = np.random.default_rng(0)
X = RNG.normal(size=(150, 4))
Y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
X_TEST, Y_TEST = X[120:], Y[120:]  # this trainable's own held-out rows
X, Y = X[:120], Y[:120]


def train(config):
    ctx = trial_context()
    tr, va = ctx.split(Y)
    model = LogisticRegression(C=config["C"]).fit(X[tr], Y[tr])
    ctx.report({"acc": model.score(X[va], Y[va])})


def refit(config):
    ctx = trial_context()
    marks = os.environ["REFIT_MARKS"]
    open(os.path.join(marks, f"call-{len(os.listdir(marks))}"), "w").close()
    while os.path.exists(marks + ".block"):  # the test kills the driver here
        time.sleep(0.2)
    tr, va = ctx.split(Y)
    assert ctx.stage == "refit" and ctx.fold is None and len(tr) == len(Y) and len(va) == 0
    model = LogisticRegression(C=config["C"]).fit(X[tr], Y[tr])
    ctx.report({"test_score": model.score(X_TEST, Y_TEST), "n_train": len(tr)})
    return model
"""

HOOK_YAML = """\
task: refit_hook:train
refit: refit_hook:refit
metric: acc
mode: max
seed: 2
search_space:
  C: {type: float, low: 0.01, high: 10.0, log: true}
stages:
  - {name: only, max_epochs: 1, budget: {trials: 4}, top_k: 2}
cv: {folds: 2, top_k: 2}
"""


def test_custom_refit_hook_after_cv_and_resume_after_sigkill_during_refit(tmp_path, monkeypatch):
    from tests.pipeline_runs import ROOT

    (tmp_path / "mod").mkdir()
    (tmp_path / "mod" / "refit_hook.py").write_text(textwrap.dedent(HOOK))
    (tmp_path / "exp.yaml").write_text(HOOK_YAML)
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path / "mod"), str(ROOT)]))  # start() inherits it
    monkeypatch.setenv("REFIT_MARKS", str(marks))
    out = tmp_path / "exp"
    block = tmp_path / "marks.block"
    block.touch()

    proc = start(["--config", str(tmp_path / "exp.yaml"), "--output", str(out)], tmp_path / "1.log")
    wait_for(lambda: (marks / "call-0").exists(), proc, TIMEOUT_S, "the refit to start")
    kill_tree(proc)
    state = json.loads((out / "pipeline.json").read_text())
    assert state["refit"]["status"] == "running" and state["cv"]["status"] == "done"
    assert not (out / MODEL_DIR).exists()  # nothing half-written
    stage_trials, cv_trials = len(completed(out, "only")), len(completed(out, "cv"))
    assert stage_trials == 4 and cv_trials == 4

    block.unlink()
    proc = start(["--resume", str(out)], tmp_path / "2.log")
    assert proc.wait(timeout=TIMEOUT_S) == 0, (tmp_path / "2.log").read_text()
    log = (tmp_path / "2.log").read_text()
    assert "stage 1/1 only: finished before" in log and "cv: finished before" in log
    assert sorted(os.listdir(marks)) == ["call-0", "call-1"]  # the refit, and only it, ran again
    assert (len(completed(out, "only")), len(completed(out, "cv"))) == (stage_trials, cv_trials)
    manifest = json.loads((out / MODEL_DIR / MANIFEST).read_text())
    best = json.loads((out / "best.json").read_text())
    assert manifest["kind"] == "custom" and manifest["refit"] == "refit_hook:refit"
    assert manifest["metrics"]["n_train"] == 120 and best["test_score"] == manifest["test_score"]
    assert best["cv_mean"] is not None and manifest["config"] == best["config"]
    assert f"test score {best['test_score']:.4f}" in log

    monkeypatch.syspath_prepend(str(tmp_path / "mod"))
    import refit_hook

    model = load_model(out / MODEL_DIR)  # the object the hook returned
    assert model.get_params()["C"] == best["config"]["C"]
    assert model.score(refit_hook.X_TEST, refit_hook.Y_TEST) == best["test_score"]
    stamp = (out / MODEL_DIR / MANIFEST).stat().st_mtime_ns

    proc = start(["--resume", str(out)], tmp_path / "3.log")
    assert proc.wait(timeout=TIMEOUT_S) == 0
    assert "refit: finished before" in (tmp_path / "3.log").read_text()
    assert sorted(os.listdir(marks)) == ["call-0", "call-1"]  # a finished run does nothing again
    assert (out / MODEL_DIR / MANIFEST).stat().st_mtime_ns == stamp
