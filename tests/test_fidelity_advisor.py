"""The advisor's model (pure) and the plumbing of ``stages: auto`` (calibration faked)."""

import math

import pytest

from pipeline import advise
from pipeline.config import build
from pipeline.fidelity_advisor import Level, chain_yaml, pearson_from_spearman, propose, simulate

REF = Level("r8-f100-e15", {"data_fraction": 1.0, "resolution": 8, "max_epochs": 15}, cost=10.0, rho=1.0)


def test_single_stage_is_the_max_of_n_uniforms():
    # random search over N configurations picks the best: its percentile has mean N / (N + 1)
    for n in (1, 4, 19):
        assert simulate([1.0], [n], [], reps=4000) == pytest.approx(n / (n + 1), abs=0.01)


def test_spearman_to_pearson():
    assert pearson_from_spearman(1.0) == pytest.approx(1.0)
    assert pearson_from_spearman(0.0) == 0.0
    assert pearson_from_spearman(0.5) == pytest.approx(2 * math.sin(math.pi / 12))


def test_a_cheap_faithful_fidelity_wins_and_a_useless_one_loses():
    good = Level("cheap-good", {"data_fraction": 0.3, "max_epochs": 1}, cost=0.5, rho=0.95)
    useless = Level("cheap-useless", {"data_fraction": 0.3, "max_epochs": 2}, cost=0.5, rho=0.0)
    chains = propose([good, useless, REF], REF, budget_s=100.0)
    assert chains[0].levels[0] is good and chains[0].levels[-1] is REF
    single = next(c for c in chains if len(c.levels) == 1)
    assert single.trials == [10] and single.quality == pytest.approx(10 / 11, abs=0.02)
    assert chains[0].quality > single.quality + 0.03
    two_useless = next(c for c in chains if [lv.name for lv in c.levels] == ["cheap-useless", REF.name])
    assert two_useless.quality < single.quality  # it only picks at random among a few at the reference
    assert all(c.seconds <= 100.0 + 1e-9 for c in chains)  # every chain fits the same budget


def test_chain_yaml_is_a_valid_pipeline():
    good = Level("r4-f30-e3", {"data_fraction": 0.3, "resolution": 4, "max_epochs": 3}, cost=0.5, rho=0.9)
    chain = propose([good, REF], REF, budget_s=60.0)[0]
    stages = chain_yaml(chain)
    cfg = build({"task": "digits", "stages": stages, "cv": {"folds": 3, "top_k": 2}}, check_data=False)
    assert [s.name for s in cfg.stages] == [lv.name for lv in chain.levels]
    assert cfg.stages[0].budget.trials == chain.trials[0] and cfg.stages[0].top_k == chain.top_k[0]
    assert {s.searcher for s in cfg.stages} == {"auto"}  # the pipeline's default searcher


def test_stages_auto_runs_the_calibration_then_the_proposed_chain(monkeypatch, capsys):
    good = Level("r4-f30-e3", {"data_fraction": 0.3, "resolution": 4, "max_epochs": 3}, cost=0.5, rho=0.9)
    seen = {}

    def fake_calibrate(cfg, n, fractions, say=print, only=None):
        seen.update(task=cfg.task, n=n, fractions=fractions)
        return [good, REF], REF

    monkeypatch.setattr(advise, "calibrate", fake_calibrate)
    cfg = build({"task": "digits", "stages": "auto", "cv": {"folds": 3, "top_k": 3}}, check_data=False)
    assert seen == {"task": "digits", "n": advise.DEFAULT_CONFIGS, "fractions": advise.DEFAULT_FRACTIONS}
    assert [s.name for s in cfg.stages] == ["r4-f30-e3", "r8-f100-e15"]
    assert cfg.settings["stages"][0]["name"] == "r4-f30-e3"  # experiment.yaml keeps the chain, not `auto`
    assert "stages: auto runs the best chain" in capsys.readouterr().out


def test_stages_auto_sizes_the_chain_for_the_deadline(monkeypatch):
    from pipeline import ray_runtime

    good = Level("r4-f30-e3", {"data_fraction": 0.3, "resolution": 4, "max_epochs": 3}, cost=0.5, rho=0.9)
    budgets = []
    monkeypatch.setattr(advise, "calibrate", lambda *a, **k: ([good, REF], REF))
    monkeypatch.setattr(ray_runtime, "init", lambda address, verbose: {"CPU": 4.0})
    real_propose = advise.propose
    monkeypatch.setattr(
        advise,
        "propose",
        lambda lv, ref, budget, seed: budgets.append(budget) or real_propose(lv, ref, budget, seed=seed),
    )
    build({"task": "digits", "stages": "auto", "deadline_s": 50}, check_data=False)
    build({"task": "digits", "stages": "auto"}, check_data=False)
    assert budgets == [
        50 * 4.0,
        advise.DEFAULT_REFERENCE_TRIALS * REF.cost,
    ]  # CPU-seconds of the deadline, else the default


def test_stages_auto_with_one_stage_flags_is_one_line():
    from pipeline.errors import UsageError

    with pytest.raises(UsageError) as err:
        build({"task": "digits", "stages": "auto", "num_samples": 3}, check_data=False)
    assert err.value.field == "num_samples"
