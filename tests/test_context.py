"""The public trial context, driven directly (no Ray): fidelity and knobs, the fold and its
split, the binding that takes CV keys out of the config, and the log of watched reads."""

import json

import numpy as np
import pytest

import pipeline
from pipeline.context import CV_FINALIST_KEY, CV_FOLD_KEY, ContextSetup, bind, trial_context
from pipeline.context_log import read_log, unread
from pipeline.fidelity import Fidelity, Fold
from pipeline.tasks.data import trial_rows

Y = np.repeat(np.arange(3), [40, 25, 15])


def test_outside_the_pipeline_the_context_is_full_fidelity_and_keeps_reports():
    ctx = pipeline.trial_context()
    assert ctx is trial_context()  # one per process, like a trial's
    assert (ctx.data_fraction, ctx.resolution, ctx.fold, ctx.seed) == (1.0, None, None, 0)
    n = len(ctx.reports)
    ctx.report({"loss": 0.5}, state={"epoch": 1})
    assert ctx.reports[n:] == [({"loss": 0.5}, {"epoch": 1})]
    assert ctx.load_state() is None  # a plain call always starts fresh
    assert str(ctx.device) == "cpu"


def run_bound(setup, config, body):
    seen = {}

    def train(cfg):
        seen["config"] = cfg
        seen["ctx"] = trial_context()
        return body(trial_context())

    fn = bind(train, setup, name="mine")
    assert fn.__name__ == "mine"
    seen["ret"] = fn(config)
    return seen


def test_bound_trainable_sees_the_stage_fidelity_and_its_own_knobs():
    setup = ContextSetup(Fidelity(0.3, 4, 7, (("max_seq_len", 128), ("n_estimators", 50))), seed=5, stage="a")
    seen = run_bound(
        setup, {"lr": 0.1}, lambda c: (c.data_fraction, c.resolution, c.max_epochs, c.knob("n_estimators"), c.seed)
    )
    assert seen["ret"] == (0.3, 4, 7, 50, 5)
    assert seen["config"] == {"lr": 0.1}
    assert seen["ctx"].knob("missing", 3) == 3 and seen["ctx"].knobs == {"max_seq_len": 128, "n_estimators": 50}
    assert seen["ctx"].stage == "a" and seen["ctx"].fold is None
    assert trial_context() is not seen["ctx"]  # the binding restores the previous context


def test_cv_keys_leave_the_config_and_the_fold_enters_the_context():
    setup = ContextSetup(Fidelity(), seed=2, stage="cv", cv_folds=3)
    seen = run_bound(setup, {"lr": 0.1, CV_FOLD_KEY: 2, CV_FINALIST_KEY: 0}, lambda c: c.fold)
    assert seen["ret"] == Fold(2, 3) and seen["config"] == {"lr": 0.1}


def test_split_is_the_built_in_rule_holdout_in_stages_folds_in_cv():
    stage = ContextSetup(Fidelity(data_fraction=0.5), seed=9)
    tr, va = run_bound(stage, {}, lambda c: c.split(Y))["ret"]
    exp_tr, exp_va = trial_rows(Y, 0.2, 0.5, 9, None, stratify=True)
    assert np.array_equal(tr, exp_tr) and np.array_equal(va, exp_va)
    # nested: the 50 % training rows are inside the full-data training rows, same validation rows
    full_tr, full_va = run_bound(ContextSetup(Fidelity(), seed=9), {}, lambda c: c.split(Y))["ret"]
    assert set(tr) < set(full_tr) and np.array_equal(va, full_va)
    # stratified: each class keeps about half of its training rows
    for c in range(3):
        assert abs((Y[tr] == c).sum() - 0.5 * (Y[full_tr] == c).sum()) <= 1
    # CV: the folds' validation parts partition every row, each split is train + val disjoint
    cv = ContextSetup(Fidelity(), seed=9, cv_folds=4)
    vals = []
    for f in range(4):
        tr_f, va_f = run_bound(cv, {CV_FOLD_KEY: f}, lambda c: c.split(Y))["ret"]
        assert not set(tr_f) & set(va_f) and len(tr_f) + len(va_f) == len(Y)
        vals.append(va_f)
    assert sorted(np.concatenate(vals).tolist()) == list(range(len(Y)))
    # seed-stable
    again = run_bound(cv, {CV_FOLD_KEY: 1}, lambda c: c.split(Y))["ret"]
    assert np.array_equal(again[1], vals[1])


def test_float_labels_are_split_unstratified_and_bad_shapes_refused():
    y = np.linspace(0, 1, 50)
    tr, va = run_bound(ContextSetup(seed=1), {}, lambda c: c.split(y))["ret"]
    assert len(va) == 10 and len(tr) == 40  # stratifying 50 distinct floats would validate none
    with pytest.raises(ValueError, match="1-d label array"):
        run_bound(ContextSetup(), {}, lambda c: c.split(np.zeros((4, 2))))


def test_watched_reads_are_logged_once_per_trial_and_summarised(tmp_path):
    log = tmp_path / "context.jsonl"
    setup = ContextSetup(
        Fidelity(0.5, None, 3, (("n_estimators", 10), ("typo", 1))),
        stage="s",
        watch=("data_fraction", "n_estimators", "typo", "fold"),
        log_path=str(log),
    )

    def body(c):
        c.split(Y)  # reads data_fraction and the fold
        assert c.data_fraction == 0.5  # a second read is not logged again
        return c.knob("n_estimators")

    run_bound(setup, {}, body)
    run_bound(setup, {}, lambda c: c.max_epochs)  # reads nothing watched
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert [x["e"] for x in lines].count("start") == 2
    assert sorted(x["name"] for x in lines if x["e"] == "read") == ["data_fraction", "fold", "n_estimators"]
    assert unread(log, "s", setup.watch) == ["typo"]
    assert unread(log, "other", setup.watch) is None  # no trial started there: no conclusion
    with open(log, "ab") as f:
        f.write(b'{"stage": "s", "e": "read", "na')  # torn by a kill
    assert read_log(log)["s"].read == {"data_fraction", "fold", "n_estimators"}


def test_nothing_is_logged_when_nothing_is_watched(tmp_path):
    log = tmp_path / "context.jsonl"
    run_bound(ContextSetup(Fidelity(0.5), log_path=str(log)), {}, lambda c: c.data_fraction)
    assert not log.exists()


def test_fidelity_to_dict_names_every_knob():
    assert Fidelity(0.5, 4, 3, (("n", 2),)).to_dict() == {
        "data_fraction": 0.5,
        "resolution": 4,
        "max_epochs": 3,
        "knobs": {"n": 2},
    }
    assert "knobs" not in Fidelity().to_dict()


def test_a_built_in_task_trains_from_nothing_but_its_context_and_options():
    """digits as a plain trainable: the fidelity, fold and seed come from the bound context,
    its reports (with checkpoint state) go through the context; no Ray needed."""
    from pipeline.tasks import TaskOptions, get_task
    from pipeline.trainable import builtin_trainable

    seen = []
    digits = builtin_trainable("digits", TaskOptions())

    def spy(config):
        digits(config)
        seen.append(trial_context())

    setup = ContextSetup(Fidelity(0.5, 4, 2), seed=3, stage="cv", cv_folds=3)
    bind(spy, setup)({"optimizer": "adam", "lr": 0.01, "batch_size": 64, CV_FOLD_KEY: 1, CV_FINALIST_KEY: 0})
    (ctx,) = seen
    assert ctx.fold == Fold(1, 3) and len(ctx.reports) == 2
    _, y = get_task("digits").raw(TaskOptions())
    train_idx, _ = ctx.split(y, get_task("digits").val_fraction)
    metrics, state = ctx.reports[-1]
    assert metrics["n_train"] == len(train_idx) and metrics["input_shape"] == "1x4x4" and metrics["epoch"] == 2
    assert state["epoch"] == 2 and "model" in state  # what a resumed trial would load
