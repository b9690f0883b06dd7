"""Pipeline configs: every mistake in stages, budgets and cv is one line naming its YAML
path, exit code 2, nothing started; good configs become the stages they say."""

import os

import pytest
import yaml

from pipeline.config import build
from pipeline.defaults import PIPELINES
from pipeline.run import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

STAGE = "{name: s1, resolution: 4, max_epochs: 3, budget: {trials: 4}, top_k: 2}"
BRANCHES = (
    "search_space:\n  optimizer: {type: categorical, choices: [{name: sgd, momentum: {type: float, low: 0, "
    "high: 0.9}}, {name: adam, beta1: {type: float, low: 0.8, high: 0.99}}]}\n"
)
CASES = [
    ("stages: 3", "stages: must be a non-empty list of stages"),
    ("stages: []", "stages: must be a non-empty list"),
    ("stages: [5]", "stages[0]: must be a mapping with name, data_fraction"),
    ("stages: [{max_epochs: 3, budget: {trials: 2}, speed: 1}]", "stages[0].speed: unknown key; allowed: name,"),
    ("stages: [{max_epochs: 3}]", "stages[0].budget: required: a mapping with trials, epochs, time_s"),
    ("stages: [{budget: {}}]", "stages[0].budget: needs at least one of trials, epochs, time_s"),
    ("stages: [{budget: {trials: 0}}]", "stages[0].budget.trials: must be an integer >= 1, got 0"),
    ("stages: [{budget: {epochs: 2.5}}]", "stages[0].budget.epochs: must be an integer >= 1, got 2.5"),
    ("stages: [{budget: {time_s: -1}}]", "stages[0].budget.time_s: must be a number of seconds > 0"),
    ("stages: [{budget: {minutes: 3}}]", "stages[0].budget.minutes: unknown key; allowed: trials, epochs, time_s"),
    ("stages: [{resolution: 5, budget: {trials: 2}}]", "stages[0].resolution: digits allows 8, 4, got 5"),
    ("stages: [{data_fraction: 0, budget: {trials: 2}}]", "stages[0].data_fraction: must be a number in (0, 1]"),
    (
        "stages: [{searcher: bayes, budget: {trials: 2}}]",
        "stages[0].searcher: unknown searcher 'bayes'; allowed: auto, random, tpe, gp, rl, hyperopt, mobster, hypertune",
    ),
    ("stages: [{scheduler: sha, budget: {trials: 2}}]", "stages[0].scheduler: unknown scheduler 'sha'; allowed: fifo"),
    (f"stages: [{STAGE}, {{budget: {{trials: 2}}, top_k: x}}]", "stages[1].top_k: must be an integer >= 1, got 'x'"),
    (
        "stages: [{budget: {trials: 4}}, {budget: {trials: 2}}]",
        "stages[0].top_k: required: how many configurations this stage passes to the next",
    ),
    (
        f"stages: [{STAGE}, {{budget: {{trials: 1}}}}]",
        "stages[1].budget.trials: (1) must be >= stages[0].top_k (2): those configurations are evaluated first",
    ),
    (
        "stages: [{budget: {trials: 2}, top_k: 3}, {budget: {trials: 5}}]",
        "stages[0].top_k: (3) cannot exceed stages[0].budget.trials (2)",
    ),
    (f"stages: [{STAGE}, {STAGE}]", "stages[1].name: 's1' is already the name of stages[0]"),
    ("stages: [{name: 'a b', budget: {trials: 2}}]", "stages[0].name: must be letters, digits"),
    ("stages: [{name: cv, budget: {trials: 2}}]", "stages[0].name: 'cv' is a file or folder the pipeline writes"),
    (
        "stages: [{budget: {trials: 2}, warm_start: true}]",
        "stages[0].warm_start: the first stage has no previous stage to start from",
    ),
    (
        f"stages: [{STAGE}, {{budget: {{trials: 4}}, warm_start: yes-please}}]",
        "stages[1].warm_start: must be true or false",
    ),
    (
        BRANCHES + f"stages: [{STAGE}, {{budget: {{trials: 4}}, searcher: hyperopt}}]",
        "stages[1].searcher: hyperopt cannot start from the previous stage's configurations",
    ),
    (
        "search_space: {lr: {type: float, low: 0.001, high: 0.1}}\n"
        f"stages: [{STAGE}, {{budget: {{trials: 4}}, searcher: hyperopt, warm_start: true}}]",
        "stages[1].warm_start: searcher hyperopt cannot take earlier observations",
    ),
    (
        "stages: [{budget: {trials: 2}, searcher: hyperopt}]",
        "stages[0].searcher: hyperopt cannot search this space: DuplicateLabel optimizer/lr",
    ),
    (f"stages: [{STAGE}]\ncv: {{folds: 1, top_k: 2}}", "cv.folds: must be an integer in [2, 50], got 1"),
    (f"stages: [{STAGE}]\ncv: {{top_k: 2}}", "cv.folds: required: the number of folds"),
    (f"stages: [{STAGE}]\ncv: {{folds: 3}}", "cv.top_k: required: how many of the last stage's best"),
    (
        "stages: [{budget: {trials: 4}}]\ncv: {folds: 3, top_k: 5}",
        "cv.top_k: (5) cannot exceed stages[0].budget.trials (4)",
    ),
    (
        f"stages: [{STAGE}]\ncv: {{folds: 3, top_k: 1}}",
        "stages[0].top_k: the last stage hands cv.top_k (1) finalists to cross-validation",
    ),
    (f"stages: [{STAGE}]\ncv: {{folds: 3, top_k: 2, resolution: 7}}", "cv.resolution: digits allows 8, 4, got 7"),
    (f"stages: [{STAGE}]\ncv: {{folds: 3, top_k: 2, shuffle: true}}", "cv.shuffle: unknown key; allowed: folds"),
    (f"stages: [{STAGE}]\ncv: [3]", "cv: must be a mapping with folds, top_k"),
    (f"stages: [{STAGE}]\nnum_samples: 5", "num_samples: sets up a one-stage experiment, but the config has `stages`"),
]


@pytest.mark.parametrize("text, expected", CASES, ids=[c[1][:40] for c in CASES])
def test_pipeline_config_errors_are_one_line_exit_2(text, expected, tmp_path, capsys, monkeypatch):
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(text + "\n")
    monkeypatch.chdir(tmp_path)
    before = set(os.listdir(tmp_path))
    import ray

    started = []
    monkeypatch.setattr(ray, "init", lambda *a, **k: started.append(a) or pytest.fail("Ray was started"))
    try:
        rc = main(["--config", str(cfg)])
    except SystemExit as exit_:
        rc = exit_.code
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1, err
    assert f"python -m pipeline.run: error: {expected}" in err[0]
    assert set(os.listdir(tmp_path)) == before
    assert not started  # (another test's embedded Ray may be up; this command started none)


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--resume", "{tmp}/nothing"], "--resume: {tmp}/nothing is not an mftune experiment directory"),
        (["--resume", "{tmp}", "--seed", "3"], "--seed: cannot be combined with --resume"),
        (["--epochs-budget", "0"], "--epochs-budget: must be an integer >= 1, got '0'"),
    ],
)
def test_resume_and_budget_flag_errors(argv, expected, tmp_path, capsys):
    argv = [a.format(tmp=tmp_path) for a in argv]
    rc = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and expected.format(tmp=tmp_path) in err[0], err


def test_no_settings_is_the_default_digits_pipeline(tmp_path):
    cfg = build({"output": str(tmp_path / "o")})
    assert [s.name for s in cfg.stages] == ["coarse", "full"]
    coarse, full = cfg.stages
    assert (coarse.fidelity.resolution, coarse.fidelity.data_fraction) == (4, 0.3)
    assert (full.fidelity.resolution, full.fidelity.data_fraction) == (8, 1.0)
    assert cfg.cv.folds == 5 and cfg.cv.top_k == 3 == full.top_k
    assert cfg.cv.fidelity.max_epochs == full.fidelity.max_epochs and cfg.cv.fidelity.data_fraction == 1.0


def test_one_stage_flags_make_one_stage_without_cv(tmp_path):
    cfg = build(
        {"num_samples": "7", "max_epochs": "4", "resolution": "4", "epochs_budget": "20", "output": str(tmp_path / "o")}
    )
    (stage,) = cfg.stages
    assert cfg.cv is None and stage.budget.trials == 7 and stage.budget.epochs_budget == 20
    assert stage.fidelity.max_epochs == 4 and stage.fidelity.resolution == 4


def test_canonical_settings_round_trip_to_the_same_pipeline(tmp_path):
    """experiment.yaml (what --resume reads) describes exactly the experiment that ran."""
    cfg = build({"output": str(tmp_path / "o")})
    again = build(yaml.safe_load(yaml.safe_dump(cfg.settings, sort_keys=False)), existing_output=tmp_path / "o")
    assert again.stages == cfg.stages and again.cv == cfg.cv and again.space.names == cfg.space.names
    assert (again.metric, again.mode, again.seed) == (cfg.metric, cfg.mode, cfg.seed)


@pytest.mark.parametrize("name, task", [("digits-pipeline.yaml", "digits"), ("fashion-mnist.yaml", "fashion-mnist")])
def test_documented_configs_are_the_built_in_defaults(name, task):
    with open(os.path.join(ROOT, "docs", "examples", name)) as f:
        doc = yaml.safe_load(f)
    assert doc["task"] == task
    assert {"stages": doc["stages"], "cv": doc["cv"]} == PIPELINES[task]
