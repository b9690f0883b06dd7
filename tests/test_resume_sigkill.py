"""Resume after SIGKILL: the driver is stopped with Ctrl-C in the first stage, then with
SIGTERM (what a job scheduler or ``timeout`` sends) in the same stage once restored, then
killed (SIGKILL) in the second stage and in cross-validation, and resumed each time with
``--resume``. Finished stages are never run again, the running stage continues through
``Tuner.restore``, and every result that had completed before a kill is in the final
tables with the same value."""

import signal
import time

import pandas as pd
import pytest

from tests.pipeline_runs import TINY, completed, events, kill_tree, stage_table, start, state, wait_for

pytestmark = pytest.mark.ray

SEGMENT_TIMEOUT_S = 300


def snapshot(out):
    """What must not change once a stage is done."""
    st = state(out)
    done = {s["name"]: s for s in st["stages"] if s["status"] == "done"}
    tables = {name: (out / "stages" / f"{name}.csv").read_bytes() for name in done}
    return done, tables, [e for e in events(out) if e["e"] == "complete"]


def check_after_resume(out, before, killed_at):
    done, tables, completes = before
    st = state(out)
    for s in st["stages"]:
        if s["name"] in done:  # not re-run: same record, same table, no event after the kill
            assert s == done[s["name"]]
            assert (out / "stages" / f"{s['name']}.csv").read_bytes() == tables[s["name"]]
            assert all(e["t"] < killed_at for e in events(out) if e["stage"] == s["name"])
    return completes


def test_resume_after_ctrl_c_sigterm_and_sigkill(tmp_path):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY)
    out = tmp_path / "exp"
    # Ctrl-C first: Tune stops and snapshots, the pipeline must not take the stage as finished
    proc = start(["--config", str(cfg), "--output", str(out)], tmp_path / "ctrl-c.log")
    try:
        wait_for(lambda: len(completed(out, "a")) >= 1, proc, SEGMENT_TIMEOUT_S, "a finished trial in a")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=SEGMENT_TIMEOUT_S) == 130
    finally:
        kill_tree(proc)
    assert (
        "interrupted: stage a stopped before it finished; continue with --resume"
        in (tmp_path / "ctrl-c.log").read_text()
    )
    # the session says it stopped (only a killed driver leaves "running" behind)
    assert state(out)["stages"][0]["status"] == "stopped" and state(out)["status"] == "stopped"
    after_ctrl_c = len(completed(out, "a"))
    spent = [state(out)["spent_s"]]  # the deadline's clock (pipeline.deadline): it adds up over sessions

    # SIGTERM in the restored stage a: stopped like Ctrl-C, not a failure, and resumable
    args = ["--resume", str(out)]
    proc = start(args, tmp_path / "sigterm.log")
    try:
        wait_for(lambda: len(completed(out, "a")) >= after_ctrl_c + 1, proc, SEGMENT_TIMEOUT_S, "a trial after Ctrl-C")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=SEGMENT_TIMEOUT_S) == 130
    finally:
        kill_tree(proc)
    log = (tmp_path / "sigterm.log").read_text()
    assert "interrupted: stage a stopped before it finished; continue with --resume" in log, log
    assert "Traceback" not in log and "SIGTERM received" not in log, log  # no abort dump
    assert state(out)["stages"][0]["status"] == "stopped" and state(out)["status"] == "stopped"
    spent.append(state(out)["spent_s"])
    previous, previous_kill = snapshot(out), time.time()
    all_completed = list(previous[2])

    kills = [("b", lambda: len(completed(out, "b")) >= 1), ("cv", lambda: len(completed(out, "cv")) >= 1)]
    for i, (part, condition) in enumerate(kills):
        proc = start(args, tmp_path / f"run{i}.log")
        try:
            wait_for(condition, proc, SEGMENT_TIMEOUT_S, f"a finished trial in {part}")
        finally:
            kill_tree(proc)
        assert proc.returncode == -9
        killed_at = time.time()
        st = state(out)
        running = [s["name"] for s in st["stages"] if s["status"] == "running"]
        assert running == ([part] if part != "cv" else []) and st["status"] == "running"
        spent.append(st["spent_s"])
        before = snapshot(out)
        all_completed += [e for e in before[2] if e not in all_completed]
        check_after_resume(out, previous, previous_kill)
        previous, previous_kill = before, killed_at

    proc = start(args, tmp_path / "final.log")
    try:
        assert proc.wait(timeout=SEGMENT_TIMEOUT_S) == 0, (tmp_path / "final.log").read_text()
    finally:
        kill_tree(proc)
    check_after_resume(out, previous, previous_kill)
    log = (tmp_path / "final.log").read_text()
    assert "resuming (session 5)" in log and "best val_accuracy =" in log and "Traceback" not in log

    st = state(out)
    assert st["status"] == "done" and st["sessions"] == 5
    spent.append(st["spent_s"])
    assert 0 < spent[0] and all(a < b for a, b in zip(spent, spent[1:])), spent
    assert [s["status"] for s in st["stages"]] == ["done", "done"] and st["cv"]["status"] == "done"
    assert not list(out.glob("*.incomplete-*"))  # every stage was continued, none started over

    # no completed result lost: each trial that finished before some kill is in the final tables,
    # with its furthest completion (a stale snapshot can make Ray run a finished trial again,
    # and a restored scheduler can stop that run sooner)
    tables = {name: stage_table(out, name).set_index("trial_id") for name in ("a", "b")}
    cv = pd.read_csv(out / "cv.csv")
    furthest = {}
    for e in all_completed:
        if e["stage"] == "cv":
            row = cv[(cv["finalist"] == e["config"]["cv_finalist"] + 1) & (cv["fold"] == e["config"]["cv_fold"])]
            assert row["val_accuracy"].tolist() == pytest.approx([e["value"]])
        elif (e["stage"], e["trial"]) not in furthest or e["iter"] > furthest[e["stage"], e["trial"]]["iter"]:
            furthest[e["stage"], e["trial"]] = e
    for (stage, trial), e in furthest.items():
        assert tables[stage].loc[trial, "val_accuracy"] == pytest.approx(e["value"])
        assert tables[stage].loc[trial, "training_iteration"] == e["iter"]
    # and Ray itself kept them: stage a ran its 8 trials once (none re-suggested after the kill)
    assert (~tables["a"]["recovered"]).sum() == 8
    kept = [e for e in all_completed if e["stage"] == "a" and not tables["a"].loc[e["trial"], "recovered"]]
    assert kept, "Tuner.restore should have kept the trials of stage a that finished before the kill"
