"""Define-by-run spaces (a loop over a sampled layer count, a conditional branch) traced into a
SearchSpace and used by every searcher, and ask/tell over the pure cores without Ray."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from searchers.ask_tell import AskTell
from searchers.define_by_run import DefineByRunSpace
from searchers.space import SpaceError


def mlp_space(trial):
    n = trial.suggest_int("n_layers", 1, 3)
    widths = [trial.suggest_int(f"width_{i}", 8, 64, log=True) for i in range(n)]
    optimizer = trial.suggest_categorical("optimizer", ["sgd", "adam"])
    if optimizer == "sgd":
        trial.suggest_float("momentum", 0.0, 0.99)
    trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    return {"widths": widths}


def test_the_trace_has_a_branch_per_layer_count_and_one_for_sgd():
    space = DefineByRunSpace(mlp_space)
    by_user = sorted(space.user_name(p) for p in space.params)
    # width_0 exists for every layer count: one unconditional dimension; width_1 under 2 and 3.
    assert by_user == sorted(["n_layers", "width_0", "width_1", "width_1", "width_2", "optimizer", "momentum", "lr"])
    assert space["width_0"].parent is None and space["lr"].parent is None
    assert space["optimizer[0]/momentum"].parent == ("optimizer", 0)
    assert {space["n_layers[1]/width_1"].parent, space["n_layers[2]/width_2"].parent} == {
        ("n_layers", 1),
        ("n_layers", 2),
    }


def test_every_sample_replays_to_a_consistent_configuration():
    space = DefineByRunSpace(mlp_space)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(60):
        flat = space.sample_flat(rng)
        config = space.from_flat(flat)
        n = config["n_layers"]
        assert config["widths"] == [config[f"width_{i}"] for i in range(n)]
        assert f"width_{n}" not in config
        assert ("momentum" in config) == (config["optimizer"] == "sgd")
        assert 1e-4 <= config["lr"] <= 1e-1
        assert space.to_flat(config) == space.canonical_flat(flat)  # the config reads back
        seen.add((n, config["optimizer"]))
    assert seen == {(n, o) for n in (1, 2, 3) for o in ("sgd", "adam")}


def test_what_cannot_be_modelled_is_named():
    def on_float(trial):
        if trial.suggest_float("lr", 0.0, 1.0) > 0.5:
            trial.suggest_int("k", 1, 3)

    with pytest.raises(SpaceError, match="'lr'.*branches on suggest_categorical and suggest_int only"):
        DefineByRunSpace(on_float)

    def clash(trial):
        trial.suggest_int("k", 1, 3)
        return {"k": 0}

    with pytest.raises(SpaceError, match="'k'.*also a parameter's name"):
        DefineByRunSpace(clash).sample(np.random.default_rng(0))
    with pytest.raises(SpaceError, match="'lo/w'"):
        DefineByRunSpace(lambda t: t.suggest_float("lo/w", 0.0, 1.0))


@pytest.mark.parametrize("algorithm", ["tpe", "gp", "random"])
def test_ask_tell_with_every_core_improves_on_a_conditional_problem(algorithm):
    def loss(config):
        # Best: 2 layers of width ~32, adam, lr ~1e-2.
        widths_term = abs(config["n_layers"] - 2) + sum(abs(math.log2(w / 32)) for w in config["widths"])
        return widths_term + (0.5 if config["optimizer"] == "sgd" else 0.0) + abs(math.log10(config["lr"]) + 2)

    opt = (
        AskTell(mlp_space, mode="min", algorithm=algorithm, seed=1, n_startup_trials=5)
        if algorithm != "random"
        else AskTell(mlp_space, algorithm="random", seed=1)
    )
    values = []
    for _ in range(30):
        trial_id, config = opt.ask()
        values.append(loss(config))
        opt.tell(trial_id, values[-1])
    assert opt.best_value == min(values)
    assert loss(opt.best_params) == opt.best_value
    assert [t["value"] for t in opt.trials()] == values
    if algorithm != "random":  # the model beats its own random start
        assert min(values[10:]) < min(values[:5])


def test_ask_tell_bookkeeping():
    opt = AskTell({"x": {"type": "float", "low": 0, "high": 1}}, mode="max", seed=0, points_to_evaluate=[{"x": 0.25}])
    a, b = opt.ask(), opt.ask()  # two in flight
    assert a.config == {"x": 0.25} and a.trial_id != b.trial_id
    opt.report(b.trial_id, 1, 0.1)
    opt.tell(b.trial_id, 0.9)
    opt.tell(a.trial_id, float("nan"))  # failed
    assert [t["state"] for t in opt.trials()] == ["failed", "complete"]
    assert opt.best_value == 0.9 and opt.best_params == b.config
    with pytest.raises(ValueError, match="already told"):
        opt.tell(b.trial_id, 1.0)
    with pytest.raises(KeyError, match="unknown trial id"):
        opt.tell("nope", 1.0)


def test_ask_tell_runs_without_ray():
    code = (
        "import sys; sys.modules['ray'] = None\n"  # any import of ray now fails
        "from searchers.ask_tell import AskTell\n"
        "def space(t):\n"
        "    k = t.suggest_categorical('k', ['a', 'b'])\n"
        "    return {'z': t.suggest_float('y', 0, 1) if k == 'a' else 0.5}\n"
        "for algo in ('tpe', 'gp', 'random'):\n"
        "    o = AskTell(space, algorithm=algo, seed=0)\n"
        "    for _ in range(12):\n"
        "        i, c = o.ask(); o.tell(i, c['z'])\n"
        "    print(algo, o.best_value)\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    assert [line.split()[0] for line in out.stdout.splitlines()] == ["tpe", "gp", "random"]


@pytest.mark.parametrize("name", ["TPESearcher", "GPSearcher", "RandomSearcher"])
def test_every_ray_searcher_takes_a_define_by_run_space(name, tmp_path):
    import searchers

    cls = getattr(searchers, name)
    s = cls(
        mlp_space,
        metric="loss",
        mode="min",
        seed=0,
        points_to_evaluate=[{"n_layers": 1, "width_0": 16, "optimizer": "adam", "lr": 0.01}],
    )
    first = s.suggest("t0")
    assert first == {"n_layers": 1, "width_0": 16, "optimizer": "adam", "lr": 0.01, "widths": [16]}
    for i in range(1, 14):
        config = s.suggest(f"t{i}")
        assert config["widths"] == [config[f"width_{j}"] for j in range(config["n_layers"])]
        s.on_trial_complete(f"t{i}", {"loss": config["lr"], "training_iteration": 1})
    path = str(tmp_path / "s.pkl")
    s.save(path)  # a module-level function pickles by reference
    restored = cls()
    restored.restore(path)
    assert restored.suggest("t99") == s.suggest("t99")


def test_cv_space_of_a_define_by_run_space_reads_every_fold_point():
    from pipeline.cv import cv_points, cv_space
    from pipeline.state import Candidate

    space = DefineByRunSpace(mlp_space)
    configs = [space.sample(np.random.default_rng(i)) for i in range(2)]
    finalists = [Candidate(config=c, value=0.0, trial_id="t", iterations=1) for c in configs]
    cv = cv_space(space, len(finalists), 3)
    for point in cv_points(finalists, 3):
        assert cv.from_flat(cv.to_flat(point)) == point


PIPELINE_MODULE = """
from ray import tune


def space(trial):
    n = trial.suggest_int("n_layers", 1, 2)
    widths = [trial.suggest_int(f"width_{i}", 1, 8) for i in range(n)]
    if trial.suggest_categorical("kind", ["a", "b"]) == "a":
        trial.suggest_float("x", 0.0, 1.0)
    return {"widths": widths}


def train(config):
    assert len(config["widths"]) == config["n_layers"]
    score = sum(config["widths"]) / 8 - (config.get("x", 0.5) - 0.3) ** 2
    for step in range(1, 3):
        tune.report({"score": score * step / 2})
"""

PIPELINE_YAML = """
task: my_dbr:train
metric: score
mode: max
search_space: my_dbr:space
stages:
  - {name: a, max_epochs: 2, searcher: tpe, budget: {trials: 6}, top_k: 2}
  - {name: b, max_epochs: 2, searcher: gp, budget: {trials: 3}}
"""


@pytest.mark.ray
def test_the_pipeline_takes_search_space_module_function(tmp_path):
    import json
    import os

    from pipeline import load_experiment

    (tmp_path / "my_dbr.py").write_text(PIPELINE_MODULE)
    (tmp_path / "exp.yaml").write_text(PIPELINE_YAML)
    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.run", "--config", str(tmp_path / "exp.yaml"), "--output", str(out)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{root}"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    exp = load_experiment(out)
    df = exp.trials_dataframe()
    # stage b: its 3 trials plus the 2 "bridge" configurations from lower in stage a's ranking
    assert list(df["stage"]) == ["a"] * 6 + ["b"] * 5 and (df["state"] == "complete").all()
    best = json.loads((out / "best.json").read_text())
    assert exp.best_params == best["config"] and exp.best_value == best["value"]
    assert exp.best_value == df[df["stage"] == "b"]["value"].max()
    # The top 2 of stage a are stage b's first trials, handed over as define-by-run points.
    top = df[df["stage"] == "a"].nlargest(2, "value")["params/widths"].map(tuple)
    assert set(top) <= set(df[df["stage"] == "b"]["params/widths"].map(tuple))


def test_a_bad_define_by_run_path_is_one_line(tmp_path, capsys):
    from pipeline.run import main

    (tmp_path / "exp.yaml").write_text("search_space: no_such_module:space\n")
    assert main(["--config", str(tmp_path / "exp.yaml"), "--output", str(tmp_path / "out")]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith("error: search_space: cannot import module 'no_such_module': No module named 'no_such_module'")
    )
    assert not (tmp_path / "out").exists()
