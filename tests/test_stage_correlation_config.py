"""The YAML of bridges, ``top_k: auto`` and adaptive stages: one line naming the field for
every mistake; good settings become the stages they say and survive a round trip."""

import os

import pytest
import yaml

from pipeline.config import build
from pipeline.fidelity_correlation import DEFAULT_THRESHOLD, auto_top_k
from pipeline.run import main
from pipeline.stages_config import DEFAULT_BRIDGE, stage_to_yaml
from pipeline.state import Candidate, PipelineState, StageRecord

A = "{name: a, resolution: 4, max_epochs: 2, budget: {trials: 8}, top_k: 3"
B = "{name: b, max_epochs: 2, budget: {trials: 6}"


def stages(a_extra: str = "", b_extra: str = "") -> str:
    return f"stages:\n  - {A}{a_extra}}}\n  - {B}{b_extra}}}\n"


CASES = [
    (stages(", bridge: -1"), "stages[0].bridge: must be an integer in [0, 100], got -1"),
    (stages(", bridge: two"), "stages[0].bridge: must be an integer in [0, 100], got 'two'"),
    (stages("", ", bridge: 1"), "stages[1].bridge: applies to a stage followed by another; this is the last stage"),
    (stages("", ", top_k: auto"), "stages[1].top_k: auto applies to a stage followed by another"),
    (stages(", top_k: many"), "stages[0].top_k: must be an integer >= 1 or auto, got 'many'"),
    (stages(", adaptive: yes please"), "stages[0].adaptive: must be true or false"),
    (stages("", ", adaptive: true"), "stages[1].adaptive: applies to a stage followed by another"),
    (stages(", adaptive_threshold: 0.5"), "stages[0].adaptive_threshold: applies with adaptive: true only"),
    (stages(", adaptive: true, adaptive_threshold: 1.5"), "stages[0].adaptive_threshold: must be a number in (-1, 1]"),
    (
        "stages:\n  - {name: a, resolution: 4, budget: {trials: 3}, top_k: 1, adaptive: true}\n  - " + B + "}\n",
        "stages[0].adaptive: needs budget.trials >= 4",
    ),
    (
        "stages:\n  - {name: a.probe, budget: {trials: 3}, top_k: 1}\n  - " + B + "}\n",
        "stages[0].name: 'a.probe' ends like",
    ),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_each_mistake_is_one_line_naming_the_field(text, expected, tmp_path, capsys, monkeypatch):
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(text)
    monkeypatch.chdir(tmp_path)
    before = set(os.listdir(tmp_path))
    import ray

    monkeypatch.setattr(ray, "init", lambda *a, **k: pytest.fail("Ray was started"))
    try:
        rc = main(["--config", str(cfg)])
    except SystemExit as exit_:
        rc = exit_.code
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err
    assert set(os.listdir(tmp_path)) == before


def test_defaults_auto_and_round_trip():
    raw = yaml.safe_load(stages(", top_k: auto, adaptive: true", ""))
    cfg = build({"task": "digits", **raw}, check_data=False)
    a, b = cfg.stages
    assert a.bridge == DEFAULT_BRIDGE and b.bridge == 0
    assert a.auto_top_k and a.top_k == auto_top_k(None, 6, 8) == 3  # the stated default: half of b's 6 trials
    assert a.adaptive and a.adaptive_threshold == DEFAULT_THRESHOLD and not b.adaptive
    again = build({"task": "digits", "stages": [stage_to_yaml(s) for s in cfg.stages]}, check_data=False)
    assert again.stages == cfg.stages
    assert stage_to_yaml(a)["top_k"] == "auto"


def test_state_round_trip_keeps_bridges_and_measurements(tmp_path):
    c = Candidate(config={"x": 0.5}, value=0.9, trial_id="t1", iterations=3)
    rec = StageRecord(
        "a",
        status="done",
        top_k=[c],
        bridges=[Candidate(config={"x": 0.1}, value=0.2, trial_id="t9", iterations=1)],
        bridge_ranks=[5],
        cost={"trial_s": 2.0, "cpu_s": 2.0, "gpu_s": 0.0, "measured": 2, "unmeasured": 0},
        correlation={"spearman": 0.5, "spearman_ci": [0.1, 0.9]},
        adaptive={"decision": "stop", "moved_trials": 2},
    )
    PipelineState(stages=[rec, StageRecord("b")]).save(tmp_path)
    back = PipelineState.load(tmp_path)
    assert back.stages[0] == rec
