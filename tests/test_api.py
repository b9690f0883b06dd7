"""The pipeline from Python: ``pipeline.api.tune`` runs a user's function (defined in the
script itself) through 2 stages and 3-fold CV, resumes after SIGKILL, and raises the
command line's one-line errors as exceptions."""

import json
import os
import subprocess
import sys

import pytest

from pipeline.api import TuneResult, tune
from pipeline.errors import UsageError
from tests.pipeline_runs import ROOT, completed, kill_tree, state, wait_for

SCRIPT = """
import json, sys, time

import numpy as np

from pipeline import trial_context
from pipeline.api import tune

LABELS = np.repeat(np.arange(3), 30)


def train(config):  # defined in __main__: Ray copies it to the workers
    ctx = trial_context()
    train_idx, val_idx = ctx.split(LABELS)
    state = ctx.load_state()
    start = state["epoch"] if state else 0
    for epoch in range(start + 1, ctx.max_epochs + 1):
        time.sleep(0.05)
        score = -(config["x"] - 0.3) ** 2 - 1.0 / epoch + 0.001 * len(train_idx)
        ctx.report({"score": score, "n_train": len(train_idx), "fold": -1 if ctx.fold is None else ctx.fold.index},
                   state={"epoch": epoch})


if __name__ == "__main__":
    out = sys.argv[2]
    if sys.argv[1] == "start":
        result = tune(
            train,
            search_space={"x": {"type": "float", "low": 0, "high": 1}},
            metric="score",
            mode="max",
            seed=4,
            stages=[
                {"name": "small", "data_fraction": 0.5, "max_epochs": 3, "budget": {"trials": 6}, "top_k": 2},
                {"name": "big", "max_epochs": 4, "budget": {"trials": 4}},
            ],
            cv={"folds": 3, "top_k": 2},
            output=out,
        )
    else:
        result = tune(train, resume=out)
    trials = result.trials
    print("RESULT " + json.dumps({
        "config": result.best_config, "cv_scores": result.cv_scores, "cv_mean": result.cv_mean,
        "stages": sorted(set(trials["stage"])), "n_train": {s: sorted(set(g["n_train"])) for s, g in trials.groupby("stage")},
        "cv_rows": len(result.cv), "path": str(result.path),
    }))
"""


def run_script(path, args, log):
    return subprocess.Popen(
        [sys.executable, str(path), *args],
        cwd=ROOT,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.mark.ray
def test_tune_from_python_two_stages_cv_and_resume_after_sigkill(tmp_path):
    script = tmp_path / "notebook.py"
    script.write_text(SCRIPT)
    out = tmp_path / "exp"
    proc = run_script(script, ["start", str(out)], tmp_path / "start.log")
    try:
        wait_for(lambda: len(completed(out, "big")) >= 1, proc, 300, "a finished trial in stage big")
    finally:
        kill_tree(proc)
    assert proc.returncode == -9 and state(out)["stages"][1]["status"] == "running"
    proc = run_script(script, ["resume", str(out)], tmp_path / "resume.log")
    try:
        assert proc.wait(timeout=300) == 0, (tmp_path / "resume.log").read_text()
    finally:
        kill_tree(proc)
    log = (tmp_path / "resume.log").read_text()
    assert "resuming (session 2)" in log
    result = json.loads(next(line for line in log.splitlines() if line.startswith("RESULT "))[7:])
    assert set(result["config"]) == {"x"} and len(result["cv_scores"]) == 3 and result["cv_rows"] == 6
    assert result["cv_mean"] == pytest.approx(sum(result["cv_scores"]) / 3)
    assert result["stages"] == ["big", "small"]
    assert result["n_train"] == {"small": [36], "big": [72]}  # 90 rows, 18 held out; half, then all
    assert state(out)["status"] == "done" and result["path"] == str(out)


def plain(config):
    pass


@pytest.mark.parametrize(
    "args, kwargs, field",
    [
        ((plain,), {"search_space": {"x": {"type": "float", "low": 0, "high": 1}}, "metric": "m"}, "mode"),
        ((lambda c: None,), {}, "trainable"),
        (("digits",), {"num_sample": 3}, "num_sample"),
        (("digits",), {"stages": [{"budget": {"trials": 0}}]}, "stages[0].budget.trials"),
        (("digits",), {"cv": {"folds": 1, "top_k": 1}}, "cv.folds"),
        ((None,), {"resume": "/nonexistent/experiment"}, "resume"),
    ],
)
def test_mistakes_raise_the_one_line_usage_error(tmp_path, args, kwargs, field):
    with pytest.raises(UsageError) as err:
        tune(*args, output=str(tmp_path / "o"), **kwargs) if "resume" not in kwargs else tune(*args, **kwargs)
    assert err.value.field == field and "\n" not in str(err.value)
    assert not (tmp_path / "o").exists()  # nothing started, nothing written


def test_result_reads_what_the_experiment_wrote(tmp_path):
    (tmp_path / "trials.csv").write_text("stage,trial_id,score\na,t1,0.5\n")
    result = TuneResult(tmp_path, {"config": {"x": 1}, "value": 0.5})
    assert result.best_config == {"x": 1} and result.best_value == 0.5 and result.cv_scores is None
    assert list(result.trials["trial_id"]) == ["t1"] and result.cv.empty
