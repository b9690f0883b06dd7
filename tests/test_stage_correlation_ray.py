"""Stage fidelity correlation, bridges, measured cost and adaptive stages, end to end.

The trainable (tests/fidelity_flip.py) scores ``sign * x``: with the same sign in two
stages the second ranks exactly as the first (Spearman +1), with opposite signs exactly
the other way round (-1); so every number below is known by hand.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from pipeline.fidelity_correlation import moved_trials
from tests.pipeline_runs import ROOT, completed, kill_tree, start, state, wait_for

pytestmark = pytest.mark.ray
TIMEOUT_S = 400


def env():
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def run_cli(args):
    return subprocess.run(
        [sys.executable, "-m", "pipeline.run", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env=env(),
    )


def config(tmp_path, stages: str, cv: str = "") -> str:
    path = tmp_path / "exp.yaml"
    path.write_text(
        textwrap.dedent(
            """
            task: tests.fidelity_flip:train
            metric: score
            mode: max
            seed: 3
            search_space: {x: {type: float, low: 0, high: 1}}
            stages:
            """
        )
        + textwrap.indent(textwrap.dedent(stages), "  ")
        + cv
    )
    return str(path)


@pytest.mark.parametrize("sign, rho, overlap", [(1, 1.0, 1.0), (-1, -1.0, 1 / 3)])
def test_bridges_measure_the_pair_by_hand(tmp_path, sign, rho, overlap):
    cfg = config(
        tmp_path,
        f"""
        - {{name: a, max_epochs: 1, searcher: random, budget: {{trials: 8}}, top_k: 3, bridge: 2}}
        - {{name: b, max_epochs: 1, searcher: random, knobs: {{sign: {sign}}}, budget: {{trials: 4}}}}
        """,
        "cv: {folds: 2, top_k: 1}\n" if sign == 1 else "",
    )
    out = tmp_path / "exp"
    proc = run_cli(["--config", cfg, "--output", str(out)])
    assert proc.returncode == 0, proc.stderr
    st = state(out)
    a, b = st["stages"]
    assert len(a["top_k"]) == 3 and len(a["bridges"]) == 2
    assert a["bridge_ranks"] == [3 + 5 // 3, 3 + 10 // 3]  # a third and two thirds down the 5 below the top 3
    assert b["trials"] == 4 + 2  # the bridges run on top of b's budget
    assert a["correlation"] is None  # a record holds the pair that ends at its stage
    corr = b["correlation"]
    assert corr["matched"] == 5 and corr["spearman"] == pytest.approx(rho) and corr["kendall"] == pytest.approx(rho)
    # top 3 of 5 by x against top 3 by sign * x: all of them (+), only the middle one (-)
    assert corr["top_k_overlap"] == pytest.approx(overlap)
    for rec in (a, b):
        assert rec["cost"]["measured"] == rec["trials"] and rec["cost"]["cpu_s"] > 0
    best = json.loads((out / "best.json").read_text())
    assert best["stages"][1]["correlation_with_previous"]["spearman"] == pytest.approx(rho)
    assert best["stages"][1]["cost"]["cpu_s"] == pytest.approx(b["cost"]["cpu_s"])
    report = (out / "report.md").read_text()
    assert "## Stage fidelity correlation and cost" in report
    assert f"a -> b: Spearman {rho:+.2f}" in proc.stdout
    if sign == 1:
        assert best["finalist_correlation"]["n"] == 1 and st["cv"]["cost"]["measured"] == 2


ADAPTIVE = """
- {name: a, max_epochs: 1, searcher: random, knobs: {sleep: 0.05}, budget: {trials: 8}, top_k: 2, bridge: 2, adaptive: true}
- {name: b, max_epochs: 1, searcher: random, knobs: {sign: SIGN, sleep: 0.2}, budget: {trials: 3}}
"""


def test_adaptive_stage_that_predicts_nothing_stops_and_moves_its_budget_across_a_sigkill(tmp_path):
    cfg = config(tmp_path, ADAPTIVE.replace("SIGN", "-1"))
    out = tmp_path / "exp"
    log = tmp_path / "first.log"
    proc = start(["--config", cfg, "--output", str(out)], log)
    try:
        wait_for(
            lambda: (out / "pipeline.json").is_file() and state(out)["stages"][0].get("adaptive") is not None,
            proc,
            TIMEOUT_S,
            "the adaptive decision",
        )
    finally:
        kill_tree(proc)
    decided = state(out)["stages"][0]["adaptive"]
    a_running = state(out)["stages"][0]["status"] == "running"  # the kill may land after stage a ended
    assert decided["decision"] == "stop" and decided["probed_after"] == 4
    assert decided["correlation"]["spearman"] == pytest.approx(-1.0)  # 4 probed: top 2 + 2 bridges
    proc2 = run_cli(["--resume", str(out)])
    assert proc2.returncode == 0, proc2.stderr
    a, b = state(out)["stages"]
    assert a["adaptive"]["decision"] == "stop" and a["adaptive"]["correlation"] == decided["correlation"]
    if a_running:  # the resumed session takes the decision from pipeline.json and says it again
        assert "adaptive:" in proc2.stdout and "stops here" in proc2.stdout
    else:
        assert "stage 1/2 a: finished before" in proc2.stdout
    assert a["trials"] == 4 and not (out / "a.more").exists()  # stopped after the probe
    assert len(completed(out, "a.probe")) == 4  # the probe was not run again
    ad = a["adaptive"]
    moved = ad["moved_trials"]
    # the budget transfer: 4 unspent trials at a's measured seconds per trial, paid in b's (the probe's)
    assert ad["seconds_per_trial"] == pytest.approx((a["cost"]["trial_s"] - ad["probe_cost"]["trial_s"]) / 4)
    assert ad["next_seconds_per_trial"] == pytest.approx(ad["probe_cost"]["trial_s"] / 4)
    assert ad["next_seconds_per_trial"] > ad["seconds_per_trial"] > 0  # b sleeps 0.2 s an epoch, a 0.05 s
    assert moved == moved_trials(4, ad["seconds_per_trial"], ad["next_seconds_per_trial"])
    # b: its 3 trials + 2 bridges + the moved ones, less the 4 the probe already trained (carried)
    assert len(completed(out, "b")) == 3 + 2 + moved - 4
    assert b["trials"] == 3 + 2 + moved
    assert b["cost"]["unmeasured"] == 0


def test_adaptive_stage_that_predicts_well_runs_its_other_half(tmp_path):
    cfg = config(tmp_path, ADAPTIVE.replace("SIGN", "1"))
    out = tmp_path / "exp"
    proc = run_cli(["--config", cfg, "--output", str(out)])
    assert proc.returncode == 0, proc.stderr
    a, b = state(out)["stages"]
    assert a["adaptive"]["decision"] == "continue" and a["adaptive"]["moved_trials"] == 0
    assert a["trials"] == 8 and len(completed(out, "a.more")) == 4
    xs = sorted({round(c["config"]["x"], 12) for c in completed(out, "a") + completed(out, "a.more")})
    assert len(xs) == 8  # the second half drew new configurations
    assert a["top_k"][0]["value"] == max(c["value"] for c in completed(out, "a") + completed(out, "a.more"))
