"""The pieces between stages, driven directly: ranking, CV scores, budget, events, state."""

import json
import math
import os

import pytest

from pipeline.budget import StageBudget
from pipeline.cv import FinalistScore, cv_points, cv_space, fold_scores, winner
from pipeline.events import append_event, read_events
from pipeline.ranking import TrialOutcome, merge_completed, rank, top_k
from pipeline.state import Candidate, CVRecord, PipelineState, StageRecord
from pipeline.trainable import CV_FINALIST_KEY, CV_FOLD_KEY
from searchers import SearchSpace


def o(tid, value, iters, x=None, error=False):
    return TrialOutcome(tid, {"x": x if x is not None else tid}, value, iters, error)


def test_rank_prefers_more_epochs_then_the_metric_and_dedupes_configs():
    outs = [
        o("a", 0.95, 3),
        o("b", 0.90, 9),
        o("c", 0.92, 9),
        o("d", None, 9),
        o("e", 0.99, 1),
        o("f", 0.93, 9, x="c"),
    ]  # same config as c, evaluated twice: handed on once (best copy)
    assert [t.trial_id for t in rank(outs, "max")] == ["f", "b", "a", "e"]
    assert [t.trial_id for t in rank(outs, "min")] == ["b", "c", "a", "e"]
    cands = top_k(outs, "max", 2)
    assert [(c.trial_id, c.value, c.iterations) for c in cands] == [("f", 0.93, 9), ("b", 0.90, 9)]


def test_merge_keeps_results_only_the_events_log_saw():
    outs = [o("a", 0.5, 3)]
    events = [
        {"e": "complete", "stage": "s", "trial": "a", "iter": 3, "value": 0.5, "config": {"x": "a"}},
        {"e": "complete", "stage": "s", "trial": "z", "iter": 3, "value": 0.7, "config": {"x": "z"}},
        {"e": "complete", "stage": "other", "trial": "y", "iter": 3, "value": 0.9, "config": {}},
        {"e": "result", "stage": "s", "trial": "w", "iter": 1, "value": 0.9},
    ]
    merged = merge_completed(outs, events, "s", "acc")
    assert [(m.trial_id, m.value, m.recovered) for m in merged] == [("a", 0.5, False), ("z", 0.7, True)]
    assert merged[1].metrics == {"acc": 0.7} and merged[1].config == {"x": "z"}  # it has a table row


def test_merge_keeps_the_furthest_completion_when_a_stale_restore_ran_a_trial_again():
    # "b" completed at iteration 2; the restored Ray ran it again from scratch and its
    # scheduler stopped it at 1 with a worse value: the first completion stands.
    # "c" went further in Ray's run than in the log; "d" errored in the re-run.
    outs = [
        TrialOutcome("b", {"x": "b"}, 0.56, 1, checkpoint="/exp/a/b/checkpoint_000000"),
        o("c", 0.9, 3),
        TrialOutcome("d", {"x": "d"}, None, 1, error=True),
    ]
    events = [
        {
            "e": "complete",
            "stage": "s",
            "trial": "b",
            "iter": 2,
            "value": 0.66,
            "config": {"x": "b"},
            "metrics": {"acc": 0.66, "n_train": 71, "params": 1200, "time_total_s": 3.5},
        },
        {"e": "complete", "stage": "s", "trial": "b", "iter": 1, "value": 0.56, "config": {"x": "b"}},
        {"e": "complete", "stage": "s", "trial": "c", "iter": 2, "value": 0.8, "config": {"x": "c"}},
        {"e": "complete", "stage": "s", "trial": "d", "iter": 2, "value": 0.7, "config": {"x": "d"}},
    ]
    merged = {m.trial_id: m for m in merge_completed(outs, events, "s", "acc")}
    assert (merged["b"].value, merged["b"].iterations, merged["b"].recovered) == (0.66, 2, False)
    # the logged last result comes back whole (fidelity, other objectives, time), not only the metric
    assert merged["b"].metrics == {"acc": 0.66, "n_train": 71, "params": 1200, "time_total_s": 3.5}
    assert merged["b"].checkpoint is None
    assert (merged["c"].value, merged["c"].iterations) == (0.9, 3)
    assert (merged["d"].value, merged["d"].iterations, merged["d"].error) == (0.7, 2, False)
    assert [m.trial_id for m in rank(merged.values(), "max")] == ["c", "d", "b"]


def test_the_events_log_keeps_a_completed_trials_last_result_for_the_merge(tmp_path):
    import numpy as np

    from pipeline.events import EventLog

    class Trial:
        trial_id, config = "t1", {"x": 1}
        last_result = {
            "acc": np.float32(0.75),
            "n_train": np.int64(71),
            "loss": float("nan"),
            "tag": "a",
            "done": True,
            "training_iteration": 3,
            "config": {"x": 1},
            "hist": [1, 2],
        }

    log = EventLog(tmp_path / "events.jsonl", "s", "acc")
    log.on_trial_result(0, [], Trial(), {"acc": 0.5, "training_iteration": 1})
    log.on_trial_complete(0, [], Trial())
    result, complete = read_events(tmp_path / "events.jsonl")
    assert "metrics" not in result  # per-epoch lines stay small
    assert complete["metrics"] == {
        "acc": 0.75,
        "n_train": 71,
        "loss": None,
        "tag": "a",
        "done": True,
        "training_iteration": 3,
    }
    (merged,) = merge_completed([], [complete], "s", "acc")
    assert merged.recovered and merged.metrics["n_train"] == 71 and merged.value == 0.75


def test_cv_points_cover_every_finalist_and_fold_once_and_fit_the_space():
    space = SearchSpace({"lr": {"type": "float", "low": 0.001, "high": 0.1, "log": True}})
    finalists = [Candidate({"lr": 0.01}, 0.9, "t1", 5), Candidate({"lr": 0.05}, 0.8, "t2", 5)]
    points = cv_points(finalists, 3)
    assert sorted((p[CV_FINALIST_KEY], p[CV_FOLD_KEY]) for p in points) == [(j, f) for j in range(2) for f in range(3)]
    assert [p["lr"] for p in points if p[CV_FINALIST_KEY] == 1] == [0.05] * 3
    ext = cv_space(space, 2, 3)
    for p in points:
        assert ext.from_flat(ext.to_flat(p)) == p


def test_fold_scores_mean_std_and_winner():
    outs = [
        TrialOutcome(f"{j}{f}", {CV_FINALIST_KEY: j, CV_FOLD_KEY: f}, v, 5)
        for j, vals in enumerate([[0.9, 0.8, 0.7], [0.85, 0.85, 0.85], [0.99, None, 0.99]])
        for f, v in enumerate(vals)
    ]
    scores = fold_scores(outs, 3, 3)
    assert scores[0].mean == pytest.approx(0.8) and scores[0].std == pytest.approx(0.1)  # sample std, ddof=1
    assert scores[1].std == pytest.approx(0.0) and not scores[2].complete
    assert winner(scores, "max") == 1  # 2 has the best mean but a failed fold: it ranks after complete ones
    assert winner(scores, "min") == 0
    assert winner([FinalistScore(0, [None, None])], "max") is None


def test_budget_counts_highest_iteration_per_trial_and_survives_its_state():
    b = StageBudget(epochs_budget=10, time_budget_s=None)
    b.setup()
    for it in (1, 2, 3):
        assert b("a", {"training_iteration": it}) is False
    b("b", {"training_iteration": 1})
    assert b.epochs == 4 and not b.stop_all()
    restored = StageBudget(epochs_budget=10, time_budget_s=None)
    restored.set_state(b.get_state())  # what Ray hands back on Tuner.restore
    for it in (4, 5, 6, 7, 8, 9):
        restored("a", {"training_iteration": it})
    assert restored.epochs == 10 and restored.stop_all()


def test_budget_time_accumulates_across_sessions():
    b = StageBudget(epochs_budget=None, time_budget_s=5.0)
    b.set_state({"iterations": {}, "seconds": 4.0})
    assert 4.0 <= b.seconds < 4.9 and not b.exhausted()
    b.set_state({"iterations": {}, "seconds": 5.0})
    assert b.stop_all()


def test_trial_cap_for_custom_trainables():
    b = StageBudget(epochs_budget=None, time_budget_s=None, max_epochs=3)
    assert not b("a", {"training_iteration": 2}) and b("a", {"training_iteration": 3})


def test_events_log_skips_a_torn_last_line(tmp_path):
    path = tmp_path / "events.jsonl"
    append_event(path, {"e": "result", "value": 1.0})
    append_event(path, {"e": "complete", "value": None})
    with open(path, "ab") as f:
        f.write(b'{"e": "result", "val')  # a kill in the middle of a line
    assert [e["e"] for e in read_events(path)] == ["result", "complete"]
    with pytest.raises(ValueError):
        append_event(path, {"value": math.nan})  # NaN never reaches the file: callers pass None


def test_state_round_trips_and_is_replaced_atomically(tmp_path):
    state = PipelineState(
        [
            StageRecord("a", "done", [Candidate({"x": 1}, 0.5, "t", 3)], [[{"x": 1}, 0.5]], 4, 0, 12, 1.5, 0.5),
            StageRecord("b"),
        ],
        CVRecord(),
    )
    state.save(tmp_path)
    back = PipelineState.load(tmp_path)
    assert back == state
    assert [p for p in os.listdir(tmp_path) if p.startswith(".")] == []  # no temporary file left
    data = json.loads((tmp_path / "pipeline.json").read_text())
    assert data["format"] == 1 and data["stages"][0]["top_k"][0]["config"] == {"x": 1}


def test_usage_error_survives_copy_and_pickle():
    """Ray copies an exception raised in a trial; a UsageError must come through whole."""
    import copy
    import pickle

    from pipeline.errors import UsageError

    err = UsageError("data", "file not found: x.csv")
    for clone in (copy.copy(err), pickle.loads(pickle.dumps(err))):
        assert (clone.field, clone.message) == ("data", "file not found: x.csv")


def test_relative_data_paths_become_absolute(tmp_path, monkeypatch):
    """Trials run in their own working directories: a relative --data must still be found."""
    import pandas as pd

    from pipeline.config import build

    pd.DataFrame({"a": range(20), "y": [0, 1] * 10}).to_csv(tmp_path / "t.csv", index=False)
    monkeypatch.chdir(tmp_path)
    cfg = build({"task": "tabular", "data": "t.csv", "target": "y", "num_samples": 2, "output": "o"})
    assert cfg.options.data_path == str(tmp_path / "t.csv") and cfg.settings["data"] == str(tmp_path / "t.csv")
