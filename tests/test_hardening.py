"""Issue 18: hostile input and damaged directories get one line and exit 2, before
anything is created or started (the Ray-free part; real drivers are in
tests/test_experiment_lock.py and tests/test_hardening_ray.py)."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from pipeline.config import build
from pipeline.errors import UsageError
from pipeline.layout import RESERVED
from pipeline.run import main
from pipeline.state import STATUSES, PipelineState, StageRecord, settings_digest
from tests.pipeline_runs import ROOT

SETTINGS = "task: digits\nseed: 0\nstages:\n- {name: a, resolution: 4, max_epochs: 1, budget: {trials: 2}}\n"


def run_main(argv, capsys):
    rc = main(argv)
    return rc, capsys.readouterr().err.strip().splitlines()


# ------------------------------------------------------------------ reserved names


@pytest.mark.parametrize("name", [r for r in RESERVED if not r.startswith(".")] + ["a.incomplete-1", "Plots"])
def test_stage_names_the_pipeline_writes_are_rejected(name):
    with pytest.raises(UsageError) as err:
        build({"stages": [{"name": name, "resolution": 4, "budget": {"trials": 2}}]}, check_data=False)
    assert err.value.field == "stages[0].name"
    assert f"{name!r} is" in err.value.message and "reserved: experiment.yaml" in err.value.message


def test_ordinary_stage_names_still_pass():
    cfg = build({"stages": [{"name": "plots-4px", "resolution": 4, "budget": {"trials": 2}}]}, check_data=False)
    assert cfg.stages[0].name == "plots-4px"


# ------------------------------------------------------------------- --resume reads


def experiment(tmp_path, settings=SETTINGS):
    out = tmp_path / "exp"
    out.mkdir()
    (out / "experiment.yaml").write_text(settings)
    state = PipelineState(stages=[StageRecord("a")], digest=settings_digest(yaml.safe_load(settings)))
    state.save(out)
    return out


def state_json(out):
    return json.loads((out / "pipeline.json").read_text())


DAMAGED_STATE = [
    ("[]", "holds a JSON list, not an object"),
    ('{"format": 1}', "stages is missing"),
    ('{"format": 1, "stages": [], "status": "running"}', "stages is empty"),
    ('{"format": 1, "stages": [{"status": "done"}], "status": "running"}', "stages[0].name is missing"),
    ('{"format": 1, "stages": [{"name": "a", "trials": "many"}], "status": "running"}', "stages[0].trials = 'many'"),
    ('{"format": 1, "stages": [{"name": "a", "status": "maybe"}], "status": "running"}', "stages[0].status 'maybe'"),
    ('{"format": 1, "stages": [{"name": "a", "top_k": [{"value": 1}]}], "status": "running"}', "top_k[0].config is"),
    ('{"format": 1, "stages": [{"name": "a"}], "status": "running", "cv": 3}', "cv is a int, not an object"),
    ('{"format": 1, "stages": [{"name": "a", "colour": 1}], "status": "done"}', "unknown key 'colour'"),
    ("\x00\x01garbage", "not valid JSON"),
]


@pytest.mark.parametrize("text, expected", DAMAGED_STATE, ids=[e for _, e in DAMAGED_STATE])
def test_damaged_pipeline_json_is_one_line_naming_it(text, expected, tmp_path, capsys):
    out = experiment(tmp_path)
    (out / "pipeline.json").write_text(text)
    rc, lines = run_main(["--resume", str(out)], capsys)
    assert rc == 2 and len(lines) == 1, lines
    assert f"--resume: {out / 'pipeline.json'} is damaged (" in lines[0] and expected in lines[0], lines
    assert (out / "pipeline.json").read_text() == text  # nothing rewritten, nothing marked running


@pytest.mark.parametrize(
    "settings, expected",
    [
        ("", "its settings differ from those the experiment started with"),
        ("task: digits\n", "its settings differ"),
        (SETTINGS.replace("trials: 2", "trials: 3"), "its settings differ"),
        ("stages: [\n", "malformed YAML"),
    ],
    ids=["empty", "truncated", "edited", "garbage"],
)
def test_emptied_or_edited_experiment_yaml_is_refused(settings, expected, tmp_path, capsys):
    out = experiment(tmp_path)
    (out / "experiment.yaml").write_text(settings)
    before = (out / "pipeline.json").read_bytes()
    rc, lines = run_main(["--resume", str(out)], capsys)
    assert rc == 2 and len(lines) == 1, lines
    assert f"--resume: {out / 'experiment.yaml'} is damaged (" in lines[0] and expected in lines[0], lines
    assert (out / "pipeline.json").read_bytes() == before


def test_directory_without_digest_still_needs_task_and_stages(tmp_path, capsys):
    out = experiment(tmp_path)
    data = state_json(out)
    del data["digest"]  # written before digests existed
    (out / "pipeline.json").write_text(json.dumps(data))
    (out / "experiment.yaml").write_text("")
    rc, lines = run_main(["--resume", str(out)], capsys)
    assert rc == 2 and "is damaged (no 'task')" in lines[0], lines


def test_state_round_trip_and_every_status_loads(tmp_path):
    for status in STATUSES:
        st = PipelineState(stages=[StageRecord("a", status=status)], status=status, digest="x")
        st.save(tmp_path)
        assert PipelineState.load(tmp_path) == st


# --------------------------------------------------------------- nothing left behind


def cli(args, env=None, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "pipeline.run", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


def test_unreachable_address_fails_fast_and_leaves_nothing(tmp_path):
    out = tmp_path / "exp"
    proc = cli(["--address", "127.0.0.1:1", "--output", str(out), "--num-samples", "1"])
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "python -m pipeline.run: error: --address: cannot reach 127.0.0.1:1 within 10 s (Connection refused); "
        "is the Ray head running there?"
    ]
    assert not out.exists()


def test_malformed_address_is_one_line(tmp_path):
    proc = cli(["--address", "nohost", "--output", str(tmp_path / "exp")])
    assert proc.returncode == 2 and "--address: must be auto or HOST:PORT" in proc.stderr, proc.stderr
    assert not (tmp_path / "exp").exists()


def test_custom_trainable_settings_round_trip_for_resume(tmp_path):
    """experiment.yaml of a custom trainable spells data_fraction: 1.0 out; it must build again."""
    (tmp_path / "my_trainable_rt.py").write_text("def train(config):\n    pass\n")
    sys.path.insert(0, str(tmp_path))
    try:
        raw = {
            "task": "my_trainable_rt:train",
            "metric": "s",
            "mode": "max",
            "num_samples": 2,
            "search_space": {"x": {"type": "float", "low": 0, "high": 1}},
        }
        cfg = build(raw, check_data=False)
        again = build(yaml.safe_load(yaml.safe_dump(cfg.settings)), check_data=False)
        assert again.stages == cfg.stages
        # cv with a custom task (the trial context carries its fold) round-trips as well
        with_cv = build({**raw, "cv": {"folds": 2, "top_k": 1}}, check_data=False)
        again = build(yaml.safe_load(yaml.safe_dump(with_cv.settings)), check_data=False)
        assert again.cv == with_cv.cv and again.cv.folds == 2
    finally:
        sys.path.remove(str(tmp_path))


# ------------------------------------------------------------ validation gaps (item 5)


@pytest.fixture
def small_table(tmp_path):
    path = tmp_path / "t.csv"
    rows = 30
    path.write_text("a,b,y\n" + "".join(f"{i},{i % 7},{'rare' if i < 3 else i % 2}\n" for i in range(rows)))
    return str(path)


GAPS = [
    (
        {"task": "tabular", "target": "y", "cv": {"folds": 5, "top_k": 1}},
        "cv.folds",
        "exceeds the rows of class 'rare'",
    ),
    (
        {"search_space": {"channels": {"type": "int", "low": 8, "high": 30, "step": 8}}},
        "search_space.channels",
        "step 8 does not divide high - low (30 - 8)",
    ),
    ({"target": "label"}, "target", "does not apply to task digits; it is read by tabular only"),
    ({"problem": "regression"}, "problem", "does not apply to task digits"),
    ({"task": "tabular", "target": "y", "data_dir": "/x"}, "data_dir", "read by fashion-mnist, images only"),
    ({"search_space": {"dropout": {"low": 0.1, "high": 0.5}}}, "search_space.dropout", "has high/low but no type"),
    ({"task": "os:system"}, "task", "os:system is not a Python function or Trainable class"),
    ({"task": "json:JSONDecoder.decode"}, "task", "must take one argument, the trial's config dict"),
]


@pytest.mark.parametrize("extra, field, expected", GAPS, ids=[g[1] + ":" + g[2][:20] for g in GAPS])
def test_validation_gaps_are_closed(extra, field, expected, small_table):
    raw = {"num_samples": 2, **extra}
    if raw.get("task") == "tabular":
        raw["data"] = small_table
    with pytest.raises(UsageError) as err:
        build(raw)
    assert err.value.field == field and expected in err.value.message, err.value


def test_dividing_steps_and_enough_rows_still_pass(small_table):
    build({"num_samples": 2, "search_space": {"channels": {"type": "int", "low": 8, "high": 32, "step": 8}}})
    build({"task": "tabular", "data": small_table, "target": "y", "num_samples": 2, "cv": {"folds": 3, "top_k": 1}})


# --------------------------------------------------------------- tracebacks (item 6)


def test_binary_config_is_one_line(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_bytes(b"\xff\xfe\x00\x81binary")
    rc, lines = run_main(["--config", str(path)], capsys)
    assert rc == 2 and lines == [
        f"python -m pipeline.run: error: --config: {path} is not a UTF-8 text file (a YAML mapping of settings)"
    ]


def test_output_under_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    rc, lines = run_main(["--output", str(tmp_path / "f" / "exp")], capsys)
    assert (
        rc == 2
        and len(lines) == 1
        and f"cannot create {tmp_path / 'f' / 'exp'}: {tmp_path / 'f'} is a file" in lines[0]
    )


def test_output_on_a_read_only_filesystem_is_one_line(tmp_path, capsys, monkeypatch):
    real = os.statvfs

    class ReadOnly:
        def __init__(self, st):
            self.f_flag = st.f_flag | os.ST_RDONLY

    monkeypatch.setattr(os, "statvfs", lambda p: ReadOnly(real(p)))
    rc, lines = run_main(["--output", str(tmp_path / "new" / "exp")], capsys)
    assert rc == 2 and len(lines) == 1 and f"{tmp_path} is on a read-only filesystem" in lines[0], lines
    assert not (tmp_path / "new").exists()


# ------------------------------------------------------- damaged Ray state (item 3/4)


@pytest.mark.parametrize(
    "file, content",
    [
        ("tuner.pkl", b"garbage"),
        ("tuner.pkl", b""),
        ("searcher-state-2026.pkl", b"\x80\x05garbage"),
        ("callback-states-2026.pkl", b"not a pickle"),
        ("experiment_state-2026.json", b"{torn"),
        ("search_gen_state-2026.json", b"{}"),  # a pickle despite its name
    ],
)
def test_damaged_ray_state_is_one_line_naming_the_file(file, content, tmp_path, capsys):
    import pickle

    out = experiment(tmp_path)
    stage = out / "a"
    stage.mkdir()
    (stage / "tuner.pkl").write_bytes(pickle.dumps({"fine": 1}))
    (stage / "experiment_state-2026.json").write_text("{}")
    (stage / file).write_bytes(content)
    before = (out / "pipeline.json").read_bytes()
    rc, lines = run_main(["--resume", str(out)], capsys)
    assert rc == 2 and len(lines) == 1, lines
    assert f"--resume: {stage / file} is damaged (" in lines[0] and "cannot be resumed" in lines[0], lines
    assert (out / "pipeline.json").read_bytes() == before  # not marked running: nothing ran


# ------------------------------------------------------------ accounting (item 7)


def test_time_budget_clock_starts_with_the_first_result_not_with_tune():
    from pipeline.budget import StageBudget

    b = StageBudget(epochs_budget=None, time_budget_s=2.0)
    b.setup()  # Tune started; workers still starting: nothing spent yet
    assert b.seconds == 0.0 and not b.stop_all()
    b("t1", {"training_iteration": 1, "time_this_iter_s": 1.5})  # it began training 1.5 s ago
    assert 1.5 <= b.seconds < 1.9 and not b.stop_all()
    restored = StageBudget(epochs_budget=None, time_budget_s=2.0)
    restored.set_state({"iterations": {}, "seconds": 1.0})  # a resumed session: counts again from its first result
    assert restored.seconds == 1.0
    failing = StageBudget(epochs_budget=None, time_budget_s=2.0)
    failing.setup()
    failing.on_trial_error(0, [], None)  # trials that fail before reporting start the clock too
    assert failing._session_start is not None


def test_no_result_message_names_error_files_only_when_there_are_some(tmp_path, capsys):
    from pipeline.experiment import raise_no_result

    cfg = build({"num_samples": 2, "output": str(tmp_path / "exp")}, check_data=False)
    spec = cfg.stages[0]
    with pytest.raises(SystemExit):
        raise_no_result(cfg, spec)
    err = capsys.readouterr().err
    assert "error.txt" not in err and "the stage's budget ended before any trial reported" in err
    trial = cfg.output / spec.name / "t1"
    trial.mkdir(parents=True)
    (trial / "error.txt").write_text("boom")
    with pytest.raises(SystemExit):
        raise_no_result(cfg, spec)
    assert f"see {trial / 'error.txt'}" in capsys.readouterr().err


# ------------------------------------------------------------ permissions (item 8)


def test_result_files_honour_the_umask(tmp_path):
    """best.json, tables, report files: 0666 less the umask, like every other file (not mkstemp's 0600)."""
    code = (
        "import os, sys, pandas as pd; from pathlib import Path; "
        "from pipeline.results import write_json, write_trials; "
        "out = Path(sys.argv[1]); write_json({'a': 1}, out / 'best.json'); "
        "write_trials(pd.DataFrame({'x': [1]}), out); "
        "print(' '.join(oct(os.stat(out / n).st_mode & 0o777) for n in ('best.json', 'trials.csv', 'trials.parquet')))"
    )
    for umask, mode in ((0o022, "0o644"), (0o002, "0o664")):
        proc = subprocess.run(
            ["sh", "-c", f'umask {umask:03o} && exec "$0" -c "$1" "$2"', sys.executable, code, str(tmp_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=120,
        )
        assert proc.stdout.split() == [mode] * 3, proc.stderr


def test_trials_only_the_events_log_kept_count_against_the_budget_once(tmp_path):
    """Budget exactness across kills: Ray's restored generator would replace each recovered trial."""
    import pickle

    from pipeline.events import append_event
    from pipeline.tuner_run import count_recovered_trials

    stage = tmp_path / "a"
    stage.mkdir()
    trial_data = [[json.dumps({"trial_id": t}), "{}"] for t in ("t1", "t2")]
    (stage / "experiment_state-2026-01-01_00-00-00.json").write_text(json.dumps({"trial_data": trial_data}))
    gen = stage / "search_gen_state-2026-01-01_00-00-00.json"
    gen.write_bytes(pickle.dumps({"counter": 2, "total_samples": 8, "finished": False}))
    events = tmp_path / "events.jsonl"
    for trial, kind, where in [
        ("t1", "complete", "a"),
        ("t3", "complete", "a"),
        ("t4", "result", "a"),
        ("t5", "complete", "b"),
    ]:
        append_event(events, {"e": kind, "stage": where, "trial": trial, "iter": 1, "value": 0.5, "t": 0})
    assert count_recovered_trials(stage, events, "a") == 1  # t3: completed after the snapshot
    assert pickle.loads(gen.read_bytes())["counter"] == 3
    assert count_recovered_trials(stage, events, "a") == 0  # a second restore does not count it again
    assert pickle.loads(gen.read_bytes())["counter"] == 3
