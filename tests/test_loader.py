"""pipeline.load_experiment on directories written by hand: a running experiment (events
only) and a finished one (best.json), read the way a user would."""

import json

import pytest
import yaml

from pipeline import load_experiment
from pipeline.events import append_event


def experiment(tmp_path, mode="max"):
    settings = {"task": "digits", "metric": "acc", "mode": mode, "stages": [{"name": "a"}, {"name": "b"}]}
    (tmp_path / "experiment.yaml").write_text(yaml.safe_dump(settings))
    return tmp_path


def event(path, kind, stage, trial, it, value, config=None):
    e = {"e": kind, "stage": stage, "trial": trial, "iter": it, "value": value, "t": 0.0}
    if config is not None:
        e["config"] = config
    append_event(path / "events.jsonl", e)


def test_a_running_experiment_reports_the_best_of_its_highest_stage_so_far(tmp_path):
    exp_dir = experiment(tmp_path)
    exp = load_experiment(exp_dir)
    assert exp.best_params is None and exp.best_value is None and exp.trials_dataframe().empty
    event(exp_dir, "result", "a", "t1", 1, 0.5)
    event(exp_dir, "complete", "a", "t1", 1, 0.5, {"lr": 0.1, "opt": {"name": "sgd", "momentum": 0.9}})
    event(exp_dir, "complete", "a", "t2", 3, 0.9, {"lr": 0.2, "opt": {"name": "adam"}})
    event(exp_dir, "result", "a", "t3", 1, 0.7)  # still running
    assert exp.best_params == {"lr": 0.2, "opt": {"name": "adam"}} and exp.best_value == 0.9
    df = exp.trials_dataframe().set_index("trial_id")
    assert list(df["state"]) == ["complete", "complete", "running"]
    assert df.loc["t1", "params/opt/momentum"] == 0.9 and df.loc["t2", "iterations"] == 3
    assert df.loc["t3", "value"] == 0.7
    # A trial of the next stage finishes: it is at higher fidelity, so it is the best so far
    # even with a lower value.
    event(exp_dir, "complete", "b", "t4", 2, 0.8, {"lr": 0.3, "opt": {"name": "adam"}})
    assert exp.best_value == 0.8 and exp.best_params["lr"] == 0.3
    assert not exp.finished


def test_min_mode_and_errors(tmp_path):
    exp_dir = experiment(tmp_path, mode="min")
    event(exp_dir, "complete", "a", "t1", 1, 0.5, {"lr": 0.1})
    event(exp_dir, "complete", "a", "t2", 1, 0.2, {"lr": 0.2})
    event(exp_dir, "error", "a", "t3", 1, None, {"lr": 0.3})
    exp = load_experiment(exp_dir)
    assert exp.best_value == 0.2
    assert list(exp.trials_dataframe()["state"]) == ["complete", "complete", "error"]


def test_a_finished_experiment_answers_from_best_json(tmp_path):
    exp_dir = experiment(tmp_path)
    event(exp_dir, "complete", "b", "t1", 1, 0.95, {"lr": 0.1})
    (exp_dir / "best.json").write_text(json.dumps({"value": 0.93, "config": {"lr": 0.1}, "cv_std": 0.01}))
    exp = load_experiment(exp_dir)
    assert exp.finished and exp.best_value == 0.93 and exp.best_params == {"lr": 0.1}


def test_not_an_experiment(tmp_path):
    with pytest.raises(FileNotFoundError, match="not an mftune experiment directory"):
        load_experiment(tmp_path)
