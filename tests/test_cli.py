"""``python -m pipeline.run``: each kind of bad input is one line and exit code 2,
before anything starts; a small real run writes a readable experiment directory."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from pipeline.run import main
from searchers import SearchSpace

ROOT = Path(__file__).resolve().parents[1]


def run_main(argv, capsys):
    try:
        rc = main(argv)
    except SystemExit as exit_:  # argparse's own errors
        rc = exit_.code
    err = capsys.readouterr().err
    return rc, err


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": range(30), "b": ["x", "y", "z"] * 10, "y": [0, 1] * 15}).to_csv(path, index=False)
    return str(path)


CASES = [
    (["--task", "nope"], "--task: unknown task 'nope'; allowed: digits, fashion-mnist, tabular"),
    (["--num-samples", "0"], "--num-samples: must be an integer >= 1, got '0'"),
    (["--num-samples", "many"], "--num-samples: must be an integer >= 1, got 'many'"),
    (["--gpus-per-trial", "-1"], "--gpus-per-trial: must be a number >= 0"),
    (["--gpus-per-trial", "1.5"], "--gpus-per-trial: above 1 it must be a whole number"),
    (["--cpus-per-trial", "0"], "--cpus-per-trial: must be a number > 0"),
    (
        ["--searcher", "bayes"],
        "--searcher: unknown searcher 'bayes'; allowed: auto, random, tpe, gp, rl, hyperopt, mobster, hypertune, optuna-nsga2",
    ),
    (["--scheduler", "sha"], "--scheduler: unknown scheduler 'sha'; allowed: fifo"),
    (["--mode", "sideways"], "--mode: must be min or max"),
    (["--metric", "f1"], "--metric: task digits reports val_accuracy, val_loss, train_loss"),
    (["--resolution", "5"], "--resolution: digits allows 8, 4, got 5"),
    (["--data-fraction", "1.5"], "--data-fraction: must be a number in (0, 1]"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--config", "{tmp}/missing.yaml"], "--config: file not found"),
    (
        ["--config", "{tmp}/bad.yaml"],
        "--config: malformed YAML in {tmp}/bad.yaml at line 2, column 7: mapping values are not allowed here",
    ),
    (["--config", "{tmp}/list.yaml"], "--config: {tmp}/list.yaml must hold a mapping"),
    (["--config", "{tmp}/unknown.yaml"], "num_sample: unknown setting in {tmp}/unknown.yaml; allowed: task,"),
    (["--config", "{tmp}/space.yaml"], "search_space.dropout: low (0.9) must be < high (0.1)"),
    (["--config", "{tmp}/typo.yaml"], "search_space.learning_rate: unknown hyperparameter; allowed:"),
    (["--config", "{tmp}/badopt.yaml"], "search_space.optimizer: must be one of sgd, adam, adamw, got 'rmsprop'"),
    (["--task", "tabular", "--data", "{tmp}/none.csv", "--target", "y"], "data: file not found"),
    (["--task", "tabular", "--data", "{table}", "--target", "label"], "--target: no column 'label'"),
    (["--task", "tabular", "--data", "{table}"], "target: the tabular task needs a target column"),
    (["--task", "no_such_module:train"], "--task: cannot import module 'no_such_module'"),
    (["--task", "json:nothing"], "--task: module 'json' has no attribute 'nothing'"),
    (["--task", "json:dumps"], "metric: required for a custom trainable"),
    (["--output", "{tmp}"], "--output: {tmp} already exists and is not an empty directory"),
]


@pytest.mark.parametrize("argv, expected", CASES, ids=[" ".join(a)[:40] for a, _ in CASES])
def test_bad_input_is_one_line_exit_2_and_nothing_started(argv, expected, tmp_path, table, capsys, monkeypatch):
    write(tmp_path / "bad.yaml", "num_samples: 3\n  seed: 1: 2\n")
    write(tmp_path / "list.yaml", "- 1\n- 2\n")
    write(tmp_path / "unknown.yaml", "num_sample: 3\n")
    write(tmp_path / "space.yaml", "search_space:\n  dropout: {type: float, low: 0.9, high: 0.1}\n")
    write(tmp_path / "typo.yaml", "search_space:\n  learning_rate: {type: float, low: 1e-4, high: 0.1, log: true}\n")
    write(tmp_path / "badopt.yaml", "search_space:\n  optimizer: {type: categorical, choices: [adam, rmsprop]}\n")
    monkeypatch.chdir(tmp_path)
    argv = [a.format(tmp=tmp_path, table=table) for a in argv]
    before = set(os.listdir(tmp_path))
    import ray

    started = []
    monkeypatch.setattr(ray, "init", lambda *a, **k: started.append(a) or pytest.fail("Ray was started"))
    rc, err = run_main(argv, capsys)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert expected.format(tmp=tmp_path) in lines[0]
    assert set(os.listdir(tmp_path)) == before  # no output directory, nothing written
    assert not started  # (another test's embedded Ray may be up; this command started none)


def test_real_process_exit_code_and_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.run", "--task", "nope"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "python -m pipeline.run: error: --task: unknown task 'nope'; allowed: digits, fashion-mnist, "
        "tabular, images, or module:function for your own trainable"
    ]
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_help_documents_every_flag():
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.run", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0
    from pipeline.config import FIELDS, YAML_ONLY

    for key in FIELDS:
        if key not in YAML_ONLY:
            assert "--" + key.replace("_", "-") in proc.stdout, key
    assert "--resume" in proc.stdout


@pytest.mark.ray
def test_small_real_run_writes_tables_and_best_json(tmp_path):
    out = tmp_path / "exp"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline.run",
            "--num-samples",
            "3",
            "--max-epochs",
            "2",
            "--data-fraction",
            "0.3",
            "--resolution",
            "4",
            "--output",
            str(out),
            "--seed",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "best val_accuracy" in proc.stdout and proc.stdout.count("\n") < 14  # concise
    csv = pd.read_csv(out / "trials.csv")
    parquet = pd.read_parquet(out / "trials.parquet")
    assert len(csv) == len(parquet) == 3
    assert set(csv["n_train"]) == {434} and set(csv["input_shape"]) == {"1x4x4"}
    assert (csv["training_iteration"] == 2).all()
    best = json.loads((out / "best.json").read_text())
    assert best["value"] == pytest.approx(csv["val_accuracy"].max())
    from pipeline.tasks import get_task

    SearchSpace(get_task("digits").default_space()).to_flat(best["config"])  # a valid configuration
    stage = out / "stage-1"  # a one-stage experiment: Ray's state in the stage's directory
    assert (stage / "tuner.pkl").exists() and list(stage.glob("experiment_state-*.json"))
    assert Path(best["checkpoint"]).is_dir()


@pytest.mark.ray
def test_custom_trainable_by_import_path(tmp_path):
    write(
        tmp_path / "my_trainable.py",
        """
        from ray import tune

        def train(config):
            for step in range(1, 4):
                tune.report({"score": -(config["x"] - 0.3) ** 2 * step})
        """,
    )
    cfg = write(
        tmp_path / "exp.yaml",
        """
        task: my_trainable:train
        metric: score
        mode: max
        num_samples: 4
        max_epochs: 2
        search_space:
          x: {type: float, low: 0, high: 1}
        """,
    )
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    out = tmp_path / "exp"
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.run", "--config", cfg, "--output", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    df = pd.read_csv(out / "trials.csv")
    assert len(df) == 4 and (df["training_iteration"] == 2).all()  # max_epochs caps iterations
    best = json.loads((out / "best.json").read_text())
    assert best["value"] == pytest.approx(df["score"].max())


@pytest.mark.ray
def test_max_failures_retries_a_crashed_trial_from_its_checkpoint(tmp_path):
    # The trial dies after its second epoch the first time (as when its node is lost);
    # with --max-failures 1 Tune retries it, and it goes on from the checkpoint of epoch 2.
    write(
        tmp_path / "flaky.py",
        f"""
        import json, os, tempfile
        from ray import tune

        MARKER = {str(tmp_path / "crashed")!r}
        STARTS = {str(tmp_path / "starts.txt")!r}

        def train(config):
            start = 0
            checkpoint = tune.get_checkpoint()
            if checkpoint is not None:
                with checkpoint.as_directory() as d, open(os.path.join(d, "e.json")) as f:
                    start = json.load(f)["epoch"]
            with open(STARTS, "a") as f:
                f.write(f"{{start}}\\n")
            for epoch in range(start + 1, 5):
                with tempfile.TemporaryDirectory() as d:
                    with open(os.path.join(d, "e.json"), "w") as f:
                        json.dump({{"epoch": epoch}}, f)
                    tune.report({{"score": config["x"] * epoch}}, checkpoint=tune.Checkpoint.from_directory(d))
                if epoch == 2 and not os.path.exists(MARKER):
                    open(MARKER, "w").close()
                    os._exit(1)
        """,
    )
    cfg = write(
        tmp_path / "exp.yaml",
        """
        task: flaky:train
        metric: score
        mode: max
        num_samples: 1
        max_epochs: 4
        search_space:
          x: {type: float, low: 0, high: 1}
        """,
    )
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    out = tmp_path / "exp"
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.run", "--config", cfg, "--output", str(out), "--max-failures", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "crashed").exists()
    assert (tmp_path / "starts.txt").read_text().split() == ["0", "2"]  # retried from epoch 2's checkpoint
    df = pd.read_csv(out / "trials.csv")
    assert len(df) == 1 and df["training_iteration"].iloc[0] == 4
