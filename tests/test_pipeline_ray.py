"""A real pipeline through Ray: the top-k of a stage are the first trials of the next,
an epoch budget stops a stage, CV runs every (finalist, fold) once and picks the best
mean, and the report and compare files are written and readable."""

import json
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from pipeline.trainable import CV_FINALIST_KEY, CV_FOLD_KEY
from searchers import SearchSpace
from tests.pipeline_runs import ROOT, TINY, completed, events, stage_table, state

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pipe")
    (tmp / "tiny.yaml").write_text(TINY)
    out = tmp / "exp"
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.run", "--config", str(tmp / "tiny.yaml"), "--output", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, proc.stdout


def searcher_record(stage_dir):
    newest = max(stage_dir.glob("searcher-state-*.pkl"))
    with open(newest, "rb") as f:
        return list(pickle.load(f)["record"])


def test_top_k_are_the_first_trials_of_the_next_stage(tiny_run):
    out, _ = tiny_run
    st = state(out)
    a, b = st["stages"]
    assert a["status"] == b["status"] == "done" and len(a["top_k"]) == 3
    table_a = stage_table(out, "a")
    ranked = table_a.assign(v=-table_a["val_accuracy"]).sort_values(
        ["training_iteration", "v"], ascending=[False, True]
    )
    assert [c["trial_id"] for c in a["top_k"]] == ranked["trial_id"].head(3).tolist()
    space = SearchSpace(json.loads(json.dumps(state_space(out))))
    record_b = searcher_record(out / "b")  # suggestion order of stage b's searcher
    assert [r.flat for r in record_b[:3]] == [space.to_flat(c["config"]) for c in a["top_k"]]
    table_b = stage_table(out, "b")
    first = table_b.set_index("trial_id").loc[[r.trial_id for r in record_b[:3]]]
    assert (first["training_iteration"] == 3).all() and (first["input_shape"] == "1x8x8").all()  # at b's fidelity


def state_space(out):
    import yaml

    return yaml.safe_load((out / "experiment.yaml").read_text())["search_space"]


def test_epoch_budget_stops_the_stage(tiny_run):
    out, _ = tiny_run
    b = state(out)["stages"][1]
    assert 15 <= b["epochs"] <= 15 + 2 * 3  # trials in flight may add an epoch or two each
    assert 5 <= b["trials"] < 20
    assert b["epochs"] == int(stage_table(out, "b")["training_iteration"].sum())


def test_cv_scores_every_finalist_on_every_fold_and_picks_the_best_mean(tiny_run):
    out, stdout = tiny_run
    cv = pd.read_csv(out / "cv.csv")
    assert sorted(zip(cv["finalist"], cv["fold"])) == [(j, f) for j in (1, 2) for f in range(3)]
    st = state(out)
    assert [c["config"] for c in st["cv"]["finalists"]] == [c["config"] for c in st["stages"][1]["top_k"][:2]]
    runs = [e for e in events(out) if e["stage"] == "cv" and e["e"] == "result"]
    assert {r["iter"] for r in runs} == {1, 2}
    means = cv.groupby("finalist")["val_accuracy"].mean()
    best = json.loads((out / "best.json").read_text())
    assert best["finalist"] == int(means.idxmax())
    assert best["value"] == pytest.approx(means.max()) and best["cv_mean"] == best["value"]
    scores = cv[cv["finalist"] == best["finalist"]]["val_accuracy"]
    assert best["cv_std"] == pytest.approx(np.std(scores, ddof=1))
    # each fold trained on the other two thirds of all 1797 labelled digits
    done = [e for e in completed(out, "cv")]
    assert sorted((e["config"][CV_FINALIST_KEY], e["config"][CV_FOLD_KEY]) for e in done) == [
        (j, f) for j in (0, 1) for f in range(3)
    ]
    assert f"best val_accuracy = {best['value']:.4f}" in stdout


def test_report_files_are_written_and_readable(tiny_run):
    import matplotlib.image as mpimg

    out, _ = tiny_run
    report = (out / "report.md").read_text()
    assert "## Stages" in report and "Winner: finalist" in report
    for name in ("history", "learning_curves", "parallel", "slices", "rungs"):
        assert f"plots/{name}.png" in report
        img = mpimg.imread(out / "plots" / f"{name}.png")
        assert img.ndim == 3 and img.shape[0] > 100 and img.std() > 0  # drawn, not blank
    # Importance only from trials at a stage's full epochs, with the sample size in the title.
    assert ("plots/importance.png" in report) != ("Parameter importance: not shown" in report)
    assert "native px" not in report
    trials = pd.read_csv(out / "trials.csv")
    assert set(trials["stage"]) == {"a", "b"} and len(trials) == sum(s["trials"] for s in state(out)["stages"])
    assert len(pd.read_parquet(out / "trials.parquet")) == len(trials)


def test_compare_reports_on_existing_experiments(tiny_run, tmp_path):
    out, _ = tiny_run
    report_dir = tmp_path / "cmp"
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.compare", "--experiments", str(out), str(out), "--output", str(report_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    runs = pd.read_csv(report_dir / "runs.csv")
    best = json.loads((out / "best.json").read_text())
    assert runs["final_score"].tolist() == pytest.approx([best["value"]] * 2)
    assert runs["tuning_epochs"].tolist() == [sum(s["epochs"] for s in state(out)["stages"])] * 2
    summary = pd.read_csv(report_dir / "summary.csv")
    assert summary["runs"].tolist() == [2] and summary["final score"][0].startswith(f"{best['value']:.4f} ± 0.0000")
    text = (report_dir / "report.md").read_text()
    assert "best_vs_epochs.png" in text and "best_vs_wall.png" in text
    import matplotlib.image as mpimg

    for name in ("best_vs_epochs.png", "best_vs_wall.png"):
        assert mpimg.imread(report_dir / name).ndim == 3


def test_compare_runs_combinations_over_seeds(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(
        "task: digits\nnum_samples: 2\nmax_epochs: 1\nresolution: 4\ndata_fraction: 0.2\n"
        "search_space:\n  lr: {type: float, low: 1.0e-3, high: 1.0e-2, log: true}\n"
        "  channels: {type: int, low: 8, high: 16, step: 8}\n"
    )
    report_dir = tmp_path / "cmp"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline.compare",
            "--configs",
            str(base),
            "--combos",
            "random:fifo",
            "hyperopt:ray-asha",
            "--seeds",
            "3",
            "--output",
            str(report_dir),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = pd.read_csv(report_dir / "runs.csv")
    assert sorted(zip(runs["label"], runs["seed"])) == [("hyperopt+ray-asha", 3), ("random+fifo", 3)]
    assert (runs["trials"] == 2).all() and runs["final_score"].between(0, 1).all()
    for d in runs["path"]:
        assert (tmp_path / "cmp" / "runs").as_posix() in d
        settings = __import__("yaml").safe_load(open(f"{d}/experiment.yaml"))
        assert settings["stages"][0]["budget"] == {"trials": 2}
    assert set(pd.read_csv(report_dir / "summary.csv")["variant"]) == {"random+fifo", "hyperopt+ray-asha"}


def test_compare_bad_input_is_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.compare", "--combos", "random:sha", "--output", str(tmp_path / "c")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    from pipeline.registry import SCHEDULERS  # every registered name, in registration order

    assert proc.stderr.strip().splitlines() == [
        f"python -m pipeline.compare: error: --combos: unknown scheduler 'sha'; allowed: {', '.join(SCHEDULERS)}"
    ]
    assert "hyperband-learnt" in SCHEDULERS and "bohb-sync" in SCHEDULERS
    assert not (tmp_path / "c").exists()
