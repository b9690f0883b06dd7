"""A multi-objective pipeline end to end through Ray (issue 15, items 6-7): MO-TPE +
MO-ASHA, then FIFO, then CV of every objective; the driver is SIGKILLed in the first
stage and resumed; best.json holds the CV Pareto set and the pick, the report its table
and plots."""

import json

import pandas as pd
import pytest

from tests.pipeline_runs import completed, kill_then_resume, state

pytestmark = pytest.mark.ray

TIMEOUT_S = 400
MO_TINY = """\
task: digits
seed: 2
objectives: [val_accuracy:max, params:min]
constraints: ["params <= 30000"]
select: knee
stages:
  - {name: a, data_fraction: 0.3, resolution: 4, max_epochs: 3, scheduler: asha, budget: {trials: 8}, top_k: 3}
  - {name: b, resolution: 8, max_epochs: 2, budget: {trials: 4}}
cv: {folds: 2, top_k: 3, max_epochs: 2}
"""


def test_multi_objective_pipeline_resumes_and_reports_a_pareto_set(tmp_path):
    cfg = tmp_path / "mo.yaml"
    cfg.write_text(MO_TINY)
    out = tmp_path / "exp"
    args = ["--config", str(cfg), "--output", str(out)]
    kill_then_resume(args, out, tmp_path, lambda: len(completed(out, "a")) >= 1, "a finished trial in a", TIMEOUT_S)
    st = state(out)
    assert st["status"] == "done"
    # every hand-on candidate carries its objectives; the stage's trials all report the costs
    for cand in st["stages"][0]["top_k"]:
        assert set(cand["objectives"]) == {"val_accuracy", "params"}
    trials = pd.read_csv(out / "trials.csv")
    assert trials[["params", "flops", "latency_ms"]].notna().all().all()
    assert "block" in " ".join(trials.columns)  # the architecture space, the default of MO runs

    best = json.loads((out / "best.json").read_text())
    assert best["objectives"] == [{"metric": "val_accuracy", "mode": "max"}, {"metric": "params", "mode": "min"}]
    assert best["select"] == "knee" and best["constraints"] == ["params <= 30000"]
    rows = best["cv_objectives"]
    assert len(rows) == 3 and all(len(r["cv"]["val_accuracy"]["scores"]) == 2 for r in rows)
    front = [r for r in rows if r["on_front"]]
    assert best["pareto"] == front and front
    feasible = [r for r in rows if r["feasible"]]
    if feasible:  # the Pareto set is that of the feasible finalists
        assert all(r["feasible"] for r in front)
    # the front is non-dominated in the CV means
    for r in front:
        for other in feasible or rows:
            better_or_equal = (
                other["cv"]["val_accuracy"]["mean"] >= r["cv"]["val_accuracy"]["mean"]
                and other["cv"]["params"]["mean"] <= r["cv"]["params"]["mean"]
            )
            strictly = (
                other["cv"]["val_accuracy"]["mean"] > r["cv"]["val_accuracy"]["mean"]
                or other["cv"]["params"]["mean"] < r["cv"]["params"]["mean"]
            )
            assert not (better_or_equal and strictly)
    picked = rows[best["selected"] - 1]
    assert best["config"] == picked["config"] and best["finalist"] == best["selected"]
    report = (out / "report.md").read_text()
    assert "## Pareto set" in report and "(selected)" in report
    assert (out / "plots" / "pareto.png").stat().st_size > 10_000
    assert (out / "plots" / "hypervolume.png").stat().st_size > 10_000


NSGA2_TINY = """\
task: digits
seed: 1
objectives: [val_accuracy:max, params:min]
constraints: ["latency_ms <= 50"]
stages:
  - {name: a, resolution: 4, max_epochs: 2, searcher: tpe, scheduler: asha, budget: {trials: 4}, top_k: 2, bridge: 0}
  - {name: b, resolution: 8, max_epochs: 2, searcher: optuna-nsga2, scheduler: fifo, budget: {trials: 5}}
cv: {folds: 2, top_k: 2, max_epochs: 1}
"""


def test_optuna_nsga2_stage_takes_the_handed_on_configs_and_resumes(tmp_path):
    """Optuna's NSGA-II (define-by-run over the architecture space) as a stage searcher:
    the previous stage's picks are its first trials, Tune restores it after a SIGKILL."""
    pytest.importorskip("optuna")
    cfg = tmp_path / "nsga2.yaml"
    cfg.write_text(NSGA2_TINY)
    out = tmp_path / "exp"
    args = ["--config", str(cfg), "--output", str(out)]
    kill_then_resume(args, out, tmp_path, lambda: len(completed(out, "b")) >= 1, "a finished trial in b", TIMEOUT_S)
    st = state(out)
    assert st["status"] == "done" and st["stages"][1]["trials"] == 5
    trials = pd.read_csv(out / "trials.csv")
    b = trials[trials["stage"] == "b"]
    assert not b["failed"].astype(bool).any()

    def key(config):  # the architecture of a configuration
        block = config["block"]
        return (block["name"], int(config["blocks"]), round(float(config["width_mult"]), 6))

    tried = {
        (row["config/block/name"], int(row["config/blocks"]), round(float(row["config/width_mult"]), 6))
        for _, row in b.iterrows()
    }
    assert {key(c["config"]) for c in st["stages"][0]["top_k"]} <= tried
    best = json.loads((out / "best.json").read_text())
    assert best["pareto"] and all(set(r["cv"]) >= {"val_accuracy", "params"} for r in best["pareto"])
