"""benchmarks/pipeline_value.py without training anything: the configs each method runs
(valid, and all within one budget), the resumable log, and the report's arithmetic."""

import argparse
import json
import math
from typing import Any

import pytest

from benchmarks import pipeline_value as pv
from pipeline.fidelity_advisor import Chain, Level

RAY_METHODS = ("pipeline-default", "random-full", "topk-1epoch", "ray-asha-random", "ray-asha-hyperopt")


@pytest.mark.parametrize("method", RAY_METHODS)
def test_every_pipeline_method_spends_exactly_the_budget_and_builds(method, tmp_path):
    from pipeline.config import build

    stages = pv.stage_settings(method, 600.0, 0.2, 6, 3)
    assert pv.stage_budget_s(stages) == pytest.approx(600.0)
    cfg = build(pv.experiment_settings(stages, 1, tmp_path / "x", None), check_data=False)
    last = cfg.stages[-1].fidelity
    assert (last.data_fraction, last.resolution, last.max_epochs) == (0.2, 28, 6)  # same full fidelity for all
    assert cfg.cv is None and cfg.seed == 1


def test_topk_one_epoch_is_one_epoch_then_top_k_at_full_epochs():
    first, second = pv.stage_settings("topk-1epoch", 100.0, 0.2, 6, 4)
    assert first["max_epochs"] == 1 and first["top_k"] == 4 and first["searcher"] == "random"
    assert second["max_epochs"] == 6 and second["budget"]["trials"] == 4


def test_default_chain_scales_fractions_and_epochs():
    stages = pv.stage_settings("pipeline-default", 100.0, 0.5, 10, 3)
    assert [s["resolution"] for s in stages] == [7, 14, 28]
    assert [s["data_fraction"] for s in stages] == [0.1, 0.25, 0.5]
    assert [s["max_epochs"] for s in stages] == [6, 8, 10]
    assert [s["budget"]["time_s"] for s in stages] == pytest.approx([10.0, 30.0, 60.0])


def test_advised_stages_split_the_time_left_by_measured_cost():
    cheap = Level("r7-f6-e1", {"data_fraction": 0.06, "resolution": 7, "max_epochs": 1}, 1.0, 0.6)
    ref = Level("r28-f20-e6", {"data_fraction": 0.2, "resolution": 28, "max_epochs": 6}, 10.0, 1.0)
    chain = Chain([cheap, ref], trials=[30, 3], top_k=[3], quality=0.9)
    stages = pv.advised_stages(chain, 120.0)
    # costs 30 x 1 and 3 x 10: half each
    assert [s["budget"]["time_s"] for s in stages] == pytest.approx([60.0, 60.0])
    assert [s["budget"]["trials"] for s in stages] == [30, 3]


def test_mean_and_standard_error():
    m, se = pv.mean_se([0.8, 0.9, 1.0])
    assert m == pytest.approx(0.9)
    assert se == pytest.approx(0.1 / math.sqrt(3))  # sample sd 0.1
    assert math.isnan(pv.mean_se([0.5])[1])


def _row(method, seed, budget, acc, search=10.0):
    return {"method": method, "seed": seed, "budget_s": budget, "test_accuracy": acc, "search_s": search, "refit_s": 5}


def test_report_tables_and_time_to_match():
    rows = [
        _row("random-full", 0, 100, 0.85),
        _row("random-full", 1, 100, 0.87),
        _row("pipeline-default", 0, 100, 0.90),
        _row("pipeline-default", 1, 100, 0.88),
        _row("pipeline-default", 0, 20, 0.86),
        _row("pipeline-default", 1, 20, 0.87),
        _row("pipeline-default", 0, 50, 0.80),
    ]
    text = pv.report(rows)
    assert "pipeline-default@0.2" in text and "pipeline-default@0.5" in text
    assert "0.8600 ± 0.0100" in text  # random-full: mean 0.86, s.e. 0.01
    assert "at most 0.2 of random-full's time" in text  # 0.865 >= 0.86 at a fifth of the budget
    rows[4]["test_accuracy"] = 0.80
    assert "at most 1 of random-full's time" in pv.report(rows)
    assert "not reached" in pv.report([r for r in rows if r["budget_s"] != 100 or r["method"] == "random-full"])


def test_log_resume_skips_finished_runs_and_survives_a_cut_line(tmp_path):
    log = tmp_path / "pv.jsonl"
    calls: list[tuple[str, int, float]] = []

    def runner(method: str, seed: int, budget: float, args: argparse.Namespace) -> dict[str, Any]:
        calls.append((method, seed, budget))
        return _row(method, seed, budget, 0.5 + 0.01 * len(calls))

    argv = ["--methods", "random-full", "pipeline-default", "--seeds", "0", "1", "--budget-s", "50", "--log", str(log)]
    assert pv.main(argv, runner=runner) == 0
    assert calls == [
        ("random-full", 0, 50.0),
        ("pipeline-default", 0, 50.0),
        ("pipeline-default", 0, 10.0),
        ("random-full", 1, 50.0),
        ("pipeline-default", 1, 50.0),
        ("pipeline-default", 1, 10.0),
    ]
    assert len(pv.read_log(log)) == 6
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:15])  # a kill mid-write cuts the last line
    calls.clear()
    assert pv.main(argv, runner=runner) == 0
    assert calls == [("pipeline-default", 1, 10.0)]  # only the cut run again
    assert [json.loads(x)["method"] for x in log.read_text().splitlines()[-1:]] == ["pipeline-default"]


def test_optuna_suggestions_cover_the_flat_space():
    optuna = pytest.importorskip("optuna")
    params = {"lr": 1e-3, "batch_size": 64, "channels": 16, "hidden": 100, "dropout": 0.3}
    assert pv.suggest(optuna.trial.FixedTrial(params), pv.SPACE) == params


def test_a_method_that_chose_nothing_is_shown_not_averaged():
    rows = [_row("optuna-tpe-hyperband", 0, 100, None), _row("optuna-tpe-hyperband", 1, 100, 0.8)]
    text = pv.report(rows)
    assert "0/1" not in text and "1/2" in text  # one of two seeds scored
    assert "none (10s)" in text and "0.8000 (10s)" in text


def test_ray_methods_run_under_a_deadline_of_their_budget_and_no_result_is_a_row(monkeypatch, tmp_path):
    from pipeline import config, experiment

    seen = {}
    monkeypatch.setattr(config, "build", lambda raw: seen.update(raw) or raw)

    def no_trial_reported(cfg):
        raise SystemExit(1)  # what experiment.run does when a stage ends without a finite metric

    monkeypatch.setattr(experiment, "run", no_trial_reported)
    args = argparse.Namespace(fraction=0.2, epochs=6, top_k=3, data_dir=None, output=str(tmp_path))
    row = pv.run_one("random-full", 0, 40.0, args)
    assert seen["deadline_s"] == 40.0  # Ray's start-up counts against the budget
    assert row["test_accuracy"] is None and row["trials"] == 0 and row["method"] == "random-full"


def test_a_killed_run_is_no_row(monkeypatch, tmp_path):
    """An exit other than 1 (Ray's own SIGTERM handler was sys.exit(15)) is not a finished
    run: the benchmark must stop rather than log it as a method that chose nothing."""
    from pipeline import config, experiment

    monkeypatch.setattr(config, "build", lambda raw: raw)

    def killed(cfg):
        raise SystemExit(15)

    monkeypatch.setattr(experiment, "run", killed)
    args = argparse.Namespace(fraction=0.2, epochs=6, top_k=3, data_dir=None, output=str(tmp_path))
    with pytest.raises(SystemExit) as stop:
        pv.run_one("random-full", 0, 40.0, args)
    assert stop.value.code == 15


def test_nothing_before_the_budget_is_spent_is_a_stop_not_a_row(tmp_path, capsys):
    """Observed: a SIGTERM to the process group killed the trials, the driver saw a stage
    with no results and exited 1 after 44 of 60 s; that must not be logged as a method that
    chose nothing. Nothing after the whole budget (the advisor's calibration overran) is."""
    log = tmp_path / "pv.jsonl"

    def runner(search_s):
        return lambda method, seed, budget, args: _row(method, seed, budget, None, search=search_s)

    argv = ["--methods", "random-full", "--seeds", "0", "--budget-s", "60", "--log", str(log)]
    assert pv.main(argv, runner=runner(44.0)) == 1
    assert not log.exists() or not pv.read_log(log)
    assert "stopped or crashed, not logged" in capsys.readouterr().err
    assert pv.main(argv, runner=runner(61.0)) == 0
    assert [r["test_accuracy"] for r in pv.read_log(log)] == [None]


def test_paired_table_counts_wins_and_a_run_that_chose_nothing_loses():
    rows = [
        _row("pipeline-default", 0, 100, 0.90),
        _row("pipeline-default", 1, 100, 0.88),
        _row("pipeline-default", 2, 100, 0.86),
        _row("random-full", 0, 100, 0.85),
        _row("random-full", 1, 100, 0.88),
        _row("random-full", 2, 100, 0.80),
        _row("pipeline-advised", 0, 100, None),
        _row("pipeline-advised", 1, 100, 0.89),
        _row("pipeline-default", 0, 20, 0.99),  # not at the full budget: not paired
    ]
    lines = pv.paired(*pv.grouped(rows))
    by = {tuple(line.split()[:2]): line for line in lines[2:]}
    # default - random: +0.05, 0, +0.06: mean 0.03667, s.e. sd([.05, 0, .06]) / sqrt 3; 2 wins, 1 tie
    diffs = [0.05, 0.0, 0.06]
    m = sum(diffs) / 3
    se = math.sqrt(sum((d - m) ** 2 for d in diffs) / 2 / 3)
    line = by[("pipeline-default", "random-full")]
    assert f"{m:+.4f} ± {se:.4f}" in line and "2/1/0" in line and line.endswith("0.250")  # P(2 of 2) = 1/4
    # default against advised: seed 0 advised chose nothing (a win), seed 1 0.88 < 0.89 (a loss)
    line = by[("pipeline-default", "pipeline-advised")]
    assert "-0.0100 ± nan (1)" in line and "1/0/1" in line and line.endswith("0.750")
    assert ("pipeline-advised", "random-full") in by and "pipeline-default@0.2" not in "\n".join(lines)
    assert "paired by seed" in pv.report(rows)
