"""The experiment's deadline (``deadline_s``): the clock across sessions, the stopper it
drives, which stages it skips, and a real pipeline that ends at it with stage a's best."""

import json
import subprocess
import sys
import time

import pytest

from pipeline import deadline
from pipeline.budget import StageBudget
from pipeline.config import build
from pipeline.errors import UsageError
from pipeline.experiment import _past_deadline
from pipeline.run import main
from pipeline.state import DONE, PENDING, RUNNING, SKIPPED, PipelineState, StageRecord
from tests.pipeline_runs import ROOT


def test_the_deadline_counts_earlier_sessions_and_ends_with_its_block():
    now = time.monotonic()
    with deadline.session(100.0, spent_s=40.0, started=now):
        assert 59.0 < deadline.left_s() <= 60.0 and not deadline.passed()
    with deadline.session(100.0, spent_s=30.0, started=now - 70.0):  # 30 s before, 70 s this session
        assert deadline.passed() and deadline.left_s() <= 0
    assert deadline.left_s() is None and not deadline.passed()  # no deadline outside a session
    with deadline.session(None, spent_s=1e9, started=now):
        assert not deadline.passed()


def test_a_passed_deadline_stops_a_stage_without_a_budget_of_its_own():
    budget = StageBudget(epochs_budget=None, time_budget_s=None)
    budget.setup()
    assert not budget.stop_all()
    with deadline.session(10.0, spent_s=0.0, started=time.monotonic() - 11.0):
        assert budget.stop_all()
    with deadline.session(10.0, spent_s=0.0, started=time.monotonic()):
        assert not budget.stop_all()


def test_the_clock_is_saved_every_few_seconds_under_a_deadline_only(monkeypatch):
    saves = []
    now = [1000.0]
    monkeypatch.setattr(deadline.time, "monotonic", lambda: now[0])
    with deadline.session(600.0, spent_s=0.0, started=now[0], save=lambda: saves.append(now[0])):
        for _ in range(250):  # 25 s of Ray's loop, a step every 0.1 s
            now[0] += 0.1
            deadline.tick()
    assert len(saves) == 2 and saves[0] == pytest.approx(1000.0 + deadline.SAVE_EVERY_S)
    with deadline.session(None, spent_s=0.0, started=now[0], save=lambda: saves.append(now[0])):
        now[0] += 100.0
        deadline.tick()
    assert len(saves) == 2  # no deadline: no extra writes
    deadline.tick()  # outside a session: nothing to save


def test_spent_seconds_add_up_over_sessions_and_survive_the_file(tmp_path):
    st = PipelineState(stages=[StageRecord("a")], digest="x")
    st.start_clock(time.monotonic() - 5.0)  # a session 5 s old
    st.save(tmp_path)
    first = PipelineState.load(tmp_path)
    assert 5.0 <= first.spent_s < 6.0
    first.start_clock(time.monotonic() - 2.0)  # resumed, 2 s into the second session
    first.save(tmp_path)
    assert 7.0 <= PipelineState.load(tmp_path).spent_s < 8.5


def test_the_final_stage_is_the_last_that_was_not_skipped():
    st = PipelineState(stages=[StageRecord("a", DONE), StageRecord("b", SKIPPED), StageRecord("c", SKIPPED)])
    assert st.final == 0
    assert PipelineState(stages=[StageRecord("a", DONE), StageRecord("b", DONE)]).final == 1


def test_only_stages_not_begun_are_skipped(tmp_path):
    ray_dir = tmp_path / "b"
    with deadline.session(1.0, spent_s=2.0, started=time.monotonic()):  # passed
        assert _past_deadline(PENDING, ray_dir) and _past_deadline(RUNNING, ray_dir)  # nothing for Ray to continue
        assert not _past_deadline(DONE, ray_dir)
        ray_dir.mkdir()
        (ray_dir / "tuner.pkl").write_bytes(b"x")
        (ray_dir / "experiment_state-1.json").write_text("{}")
        assert not _past_deadline(RUNNING, ray_dir)  # begun: Ray continues it and stops it at once
    assert not _past_deadline(PENDING, tmp_path / "c")  # no deadline passed
    assert _past_deadline(SKIPPED, tmp_path / "c")  # skipped in an earlier session stays skipped


def test_a_deadline_passed_before_the_first_stage_is_exit_1_naming_it(tmp_path, capsys):
    from pipeline.experiment import _skip

    cfg = build({"num_samples": 2, "deadline_s": 1, "output": str(tmp_path / "exp")}, check_data=False)
    st = PipelineState(stages=[StageRecord("stage-1")], spent_s=3.0)
    with pytest.raises(SystemExit) as stop:
        _skip(cfg, st, 0)
    assert stop.value.code == 1 and st.stages[0].status == PENDING  # not marked: the session failed (exit 1)
    assert (
        "the deadline of 1s passed before the first stage began (3s spent); raise deadline_s" in capsys.readouterr().err
    )


def test_a_stage_cut_by_the_deadline_before_any_result_leaves_the_answer_to_the_stage_before(
    tmp_path, monkeypatch, capsys
):
    """Stage b began, but its first epoch outlasted the deadline: it has no result, so the
    experiment ends with stage a's best (exit 0), as if b had not begun; a resume keeps that."""
    from pipeline import experiment
    from pipeline.ranking import TrialOutcome

    config = {"optimizer": {"name": "adam", "lr": 0.01}, "batch_size": 32, "channels": 8, "hidden": 32, "dropout": 0.0}
    cfg = build(
        {
            "task": "digits",
            "stages": [{"name": "a", "budget": {"trials": 2}, "top_k": 1}, {"name": "b", "budget": {"trials": 2}}],
            "deadline_s": 50,
            "refit": False,
            "output": str(tmp_path / "exp"),
        },
        check_data=False,
    )
    now = [1000.0]
    monkeypatch.setattr(deadline.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(experiment, "_preflight", lambda cfg: 2)
    ran = []

    def stage(cfg, spec, index, points, warm, concurrent, events_path, extra=0):
        ran.append(spec.name)
        if spec.name == "a":
            now[0] += 10.0
            return [TrialOutcome("t1", config, 0.9, 2, metrics={"val_accuracy": 0.9, "training_iteration": 2})], 10.0
        now[0] += 60.0  # b's trials were still in their first epoch when the deadline passed
        return [], 60.0

    monkeypatch.setattr(experiment, "_run_stage", stage)
    result = experiment.run(cfg)
    assert ran == ["a", "b"] and result.best["value"] == 0.9
    st = json.loads((tmp_path / "exp" / "pipeline.json").read_text())
    assert [s["status"] for s in st["stages"]] == ["done", "skipped"] and st["status"] == "done"
    out = capsys.readouterr().out
    assert (
        "passed (70s spent) before any trial of stage b reported: stage b skipped; the result comes from stage a" in out
    )
    best = json.loads((tmp_path / "exp" / "best.json").read_text())
    assert best["deadline"]["skipped"] == ["b"]

    experiment.run(cfg, resume=True)  # nothing runs again, and nothing is said twice
    assert ran == ["a", "b"] and "skipped" not in capsys.readouterr().out


@pytest.mark.parametrize("value", [0, -5, "soon"])
def test_bad_deadline_is_one_error_naming_it(value):
    with pytest.raises(UsageError) as err:
        build({"deadline_s": value}, check_data=False)
    assert err.value.field == "deadline_s" and "a number of seconds > 0" in err.value.message


def test_deadline_flag_reaches_the_config_and_a_bad_one_exits_2(tmp_path, capsys):
    assert build({"deadline_s": "600"}, check_data=False).deadline_s == 600.0
    assert main(["--deadline-s", "0", "--output", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "deadline" in err[0] and "> 0" in err[0], err
    assert not (tmp_path / "x").exists()


LONG = """\
task: digits
seed: 3
refit: false
deadline_s: {deadline}
stages:
  - {{name: a, data_fraction: 0.3, resolution: 4, max_epochs: 2, searcher: random, budget: {{trials: 2000}}, top_k: 4}}
  - {{name: b, resolution: 8, max_epochs: 3, budget: {{trials: 10}}}}
cv: {{folds: 3, top_k: 2, max_epochs: 2}}
"""


@pytest.mark.ray
def test_a_pipeline_ends_at_its_deadline_with_the_first_stage_best(tmp_path):
    """Stage a could run 2,000 trials; the deadline stops it, skips b and CV, and the
    result is stage a's best, with the skips in pipeline.json, best.json and the log.

    30 s: on an idle 2-core machine stage a's first results come some 8 s after the
    clock starts; on one whose cores are taken by other work, Ray's workers have taken
    over 30 s to start, and then the run ends with "no trial reported" instead."""
    limit = 30
    (tmp_path / "long.yaml").write_text(LONG.format(deadline=limit))
    out = tmp_path / "exp"
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.run", "--config", str(tmp_path / "long.yaml"), "--output", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    wall = time.monotonic() - start
    assert proc.returncode == 0, proc.stdout + proc.stderr
    st = json.loads((out / "pipeline.json").read_text())
    a, b = st["stages"]
    assert (a["status"], b["status"], st["cv"]["status"], st["status"]) == ("done", "skipped", "skipped", "done")
    assert 0 < a["trials"] < 2000 and b["trials"] == 0
    assert limit <= st["spent_s"] < wall  # the driver's own start and exit are outside the clock
    best = json.loads((out / "best.json").read_text())
    assert best["deadline"]["skipped"] == ["b", "cv"] and best["deadline"]["deadline_s"] == limit
    assert best["value"] == a["top_k"][0]["value"] and "cv_mean" not in best
    assert [s["status"] for s in best["stages"]] == ["done", "skipped"]
    assert "stage b skipped; the result comes from stage a" in proc.stdout
    assert "cv skipped" in proc.stdout
    assert "b, CV skipped; the result comes from stage a." in (out / "report.md").read_text()
