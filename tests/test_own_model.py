"""A user's own trainable through the whole pipeline: stages whose fidelity reaches it
through ``trial_context()``, top-k hand-off, cross-validation with every fold a trial,
resume after SIGKILL, a warning for a knob nobody reads, an error for CV of a trainable
that ignores its fold."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from tests.pipeline_runs import ROOT, completed, kill_tree, start, state, wait_for

pytestmark = pytest.mark.ray

EXAMPLES = ROOT / "docs" / "examples"
TIMEOUT_S = 300

#: docs/examples/own_model_torch.py on a smaller budget: 2 stages, then 3-fold CV of 2
TORCH_PIPELINE = """\
task: own_model_torch:train
metric: val_accuracy
mode: max
seed: 3
search_space:
  lr: {type: float, low: 0.001, high: 0.1, log: true}
  hidden: {type: int, low: 4, high: 32, log: true}
  batch_size: {type: categorical, choices: [16, 32]}
stages:
  - {name: half, data_fraction: 0.5, max_epochs: 3, scheduler: asha, budget: {trials: 5}, top_k: 2}
  - {name: full, max_epochs: 4, budget: {trials: 3}}
cv: {folds: 3, top_k: 2}
"""
WINE_ROWS, WINE_VAL = 178, 36  # the holdout validates round(0.2 * n) of each class: 12 + 14 + 10


def env_with(*paths):
    return {**os.environ, "PYTHONPATH": os.pathsep.join([*map(str, paths), str(ROOT)])}


def results_of(stage_dir: Path) -> list[dict]:
    """The last result of every trial in a stage's Ray directory."""
    out = []
    for f in sorted(stage_dir.glob("*/result.json")):
        lines = [json.loads(x) for x in f.read_text().splitlines() if x.strip()]
        if lines:
            out.append(lines[-1])
    return out


def test_own_pytorch_model_two_stages_and_cv_resume_after_sigkill(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(EXAMPLES), str(ROOT)]))  # start() inherits it
    cfg = tmp_path / "torch.yaml"
    cfg.write_text(TORCH_PIPELINE)
    out = tmp_path / "exp"
    parts = [
        (["--config", str(cfg), "--output", str(out)], lambda: len(completed(out, "half")) >= 1, "half"),
        (["--resume", str(out)], lambda: len(completed(out, "cv")) >= 1, "cv"),
    ]
    before_kill = []
    for i, (args, condition, part) in enumerate(parts):
        proc = start(args, tmp_path / f"run{i}.log")
        try:
            wait_for(condition, proc, TIMEOUT_S, f"a finished trial in {part}")
        finally:
            kill_tree(proc)
        assert proc.returncode == -9
        before_kill += [e for e in completed(out, part) if e not in before_kill]
    proc = start(["--resume", str(out)], tmp_path / "final.log")
    try:
        assert proc.wait(timeout=TIMEOUT_S) == 0, (tmp_path / "final.log").read_text()
    finally:
        kill_tree(proc)
    log = (tmp_path / "final.log").read_text()
    # (Ray may log a traceback here: a trial that completed just before the kill can be
    # listed unfinished in the stale snapshot, fail to restore from a checkpoint num_to_keep
    # already deleted, and get its logged completion back from events.jsonl: merge_completed)
    assert "resuming (session 3)" in log and "warning" not in log and "mftune: best val_accuracy" in log

    st = state(out)
    assert st["status"] == "done" and [s["status"] for s in st["stages"]] == ["done", "done"]
    assert not list(out.glob("*.incomplete-*"))  # continued by Tuner.restore, never started over
    trials = pd.read_csv(out / "trials.csv")
    # each stage's fidelity reached the trainable: half the holdout's training rows, then all of them
    n_train = WINE_ROWS - WINE_VAL
    assert set(trials[trials["stage"] == "half"]["n_train"]) == {round(n_train / 2)}
    assert set(trials[trials["stage"] == "full"]["n_train"]) == {n_train}
    assert trials[trials["stage"] == "half"]["training_iteration"].max() <= 3
    assert trials[trials["stage"] == "full"]["training_iteration"].max() <= 4
    # the top 2 of half were the first trials of full
    half_top = [c["config"] for c in st["stages"][0]["top_k"]]
    full_first = [r["config"] for r in sorted(results_of(out / "full"), key=lambda r: r["timestamp"])]
    assert all(c in full_first for c in half_top)
    # CV: every (finalist, fold) a trial; each finalist's validation folds cover every row once
    cv_results = results_of(out / "cv")
    assert sorted((r["config"]["cv_finalist"], r["config"]["cv_fold"]) for r in cv_results) == [
        (j, f) for j in range(2) for f in range(3)
    ]
    for j in range(2):
        assert sum(WINE_ROWS - r["n_train"] for r in cv_results if r["config"]["cv_finalist"] == j) == WINE_ROWS
    cv = pd.read_csv(out / "cv.csv")
    assert len(cv) == 6 and cv["val_accuracy"].notna().all()
    for e in before_kill:  # a CV result completed before the kill is kept, with its value
        if e["stage"] == "cv":
            row = cv[(cv["finalist"] == e["config"]["cv_finalist"] + 1) & (cv["fold"] == e["config"]["cv_fold"])]
            assert row["val_accuracy"].tolist() == pytest.approx([e["value"]])
    best = json.loads((out / "best.json").read_text())
    assert best["folds"] == 3 and len(best["cv_scores"]) == 3
    assert best["cv_mean"] == pytest.approx(sum(best["cv_scores"]) / 3)
    assert best["fidelity"]["data_fraction"] == 1.0 and (out / "report.md").is_file()


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return str(path)


def run_cli(args, env):
    return subprocess.run(
        [sys.executable, "-m", "pipeline.run", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env=env,
    )


def test_knobs_reach_the_trainable_and_an_unread_one_is_warned_once(tmp_path):
    write(
        tmp_path / "knobbed.py",
        """
        from pipeline import trial_context

        def train(config):
            ctx = trial_context()
            n = ctx.knob("n_estimators")
            fold = ctx.fold
            for _ in range(ctx.max_epochs):
                ctx.report({"score": -(config["x"] - 0.3) ** 2, "n_estimators": n, "fraction": ctx.data_fraction,
                            "fold": -1 if fold is None else fold.index})
        """,
    )
    cfg = write(
        tmp_path / "exp.yaml",
        """
        task: knobbed:train
        metric: score
        mode: max
        search_space: {x: {type: float, low: 0, high: 1}}
        stages:
          - {name: a, data_fraction: 0.5, max_epochs: 2, knobs: {n_estimators: 5, n_estimatrs: 1}, budget: {trials: 3}, top_k: 2}
          - {name: b, max_epochs: 1, knobs: {n_estimators: 20, n_estimatrs: 2}, budget: {trials: 2}}
        cv: {folds: 2, top_k: 2, knobs: {n_estimators: 40}}
        """,
    )
    out = tmp_path / "exp"
    proc = run_cli(["--config", cfg, "--output", str(out)], env_with(tmp_path))
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert warnings == [
        "mftune: warning: stages[0].knobs.n_estimatrs: no trial of stage a read it "
        '(trial_context().knob("n_estimatrs")); a typo, or a trainable that ignores it?'
    ]
    trials = pd.read_csv(out / "trials.csv")
    a, b = trials[trials["stage"] == "a"], trials[trials["stage"] == "b"]
    assert set(a["n_estimators"]) == {5} and set(a["fraction"]) == {0.5} and set(a["fold"]) == {-1}
    assert set(b["n_estimators"]) == {20} and set(b["fraction"]) == {1.0} and (b["training_iteration"] == 1).all()
    cv_results = results_of(out / "cv")
    assert len(cv_results) == 4 and {r["n_estimators"] for r in cv_results} == {40}
    assert sorted(r["fold"] for r in cv_results) == [0, 0, 1, 1]
    assert all(r["fold"] == r["config"]["cv_fold"] for r in cv_results)  # the fold in the context is the trial's


def test_cv_of_a_trainable_that_ignores_its_fold_is_one_error_line(tmp_path):
    write(
        tmp_path / "foldless.py",
        """
        from ray import tune

        def train(config):
            for _ in range(2):
                tune.report({"score": config["x"]})
        """,
    )
    cfg = write(
        tmp_path / "exp.yaml",
        """
        task: foldless:train
        metric: score
        mode: max
        num_samples: 2
        max_epochs: 2
        search_space: {x: {type: float, low: 0, high: 1}}
        cv: {folds: 2, top_k: 2}
        """,
    )
    out = tmp_path / "exp"
    proc = run_cli(["--config", cfg, "--output", str(out)], env_with(tmp_path))
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "python -m pipeline.run: error: cv: foldless:train never reads its fold (trial_context().fold or "
            "trial_context().split(y))"
        )
    )
    assert "Traceback" not in proc.stderr
    assert not (out / "cv").exists()  # stopped before cross-validation


#: docs/examples/own_model_sklearn.py on a smaller budget
SKLEARN_PIPELINE = """\
task: own_model_sklearn:train
refit: own_model_sklearn:refit
metric: val_accuracy
mode: max
seed: 0
search_space:
  learning_rate: {type: float, low: 0.01, high: 0.5, log: true}
  max_leaf_nodes: {type: int, low: 4, high: 64, log: true}
  l2_regularization: {type: float, low: 0.000001, high: 1.0, log: true}
stages:
  - {name: quick, data_fraction: 0.5, max_epochs: 1, knobs: {max_iter: 5}, budget: {trials: 4}, top_k: 2}
  - {name: full, max_epochs: 1, knobs: {max_iter: 30}, budget: {trials: 2}}
cv: {folds: 3, top_k: 2}
"""
CANCER_ROWS, CANCER_TRAIN = 569, 456  # the holdout validates round(0.2 * n) of each class: 42 + 71


def test_own_sklearn_model_with_its_own_knob_through_stages_and_cv(tmp_path):
    cfg = tmp_path / "sk.yaml"
    cfg.write_text(SKLEARN_PIPELINE)
    out = tmp_path / "exp"
    proc = run_cli(["--config", str(cfg), "--output", str(out)], env_with(EXAMPLES))
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr and "Traceback" not in proc.stderr
    trials = pd.read_csv(out / "trials.csv")
    quick, full = trials[trials["stage"] == "quick"], trials[trials["stage"] == "full"]
    assert set(quick["n_iter"]) == {5} and set(quick["n_train"]) == {CANCER_TRAIN // 2}
    assert set(full["n_iter"]) == {30} and set(full["n_train"]) == {CANCER_TRAIN}
    cv_results = results_of(out / "cv")
    assert len(cv_results) == 6 and {r["n_iter"] for r in cv_results} == {30}  # CV inherits the last knobs
    best = json.loads((out / "best.json").read_text())
    assert best["fidelity"]["knobs"] == {"max_iter": 30} and len(best["cv_scores"]) == 3
    report = (out / "report.md").read_text()
    assert "| quick | 0.5 of rows, <= 1 ep, max_iter=5 |" in report
    # the example's refit function: the winner on all 569 rows at the last knobs, saved as model/
    sys.path.insert(0, str(EXAMPLES))
    try:
        from sklearn.datasets import load_breast_cancer

        from pipeline.model import load_model

        model = load_model(out / "model")
        x, y = load_breast_cancer(return_X_y=True)
        assert model.n_iter_ == 30 and model.learning_rate == best["config"]["learning_rate"]
        assert model.score(x, y) >= best["cv_mean"]  # it trained on these rows: at least its CV accuracy
    finally:
        sys.path.remove(str(EXAMPLES))
