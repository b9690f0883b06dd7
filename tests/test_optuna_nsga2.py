"""The ``optuna-nsga2`` searcher (Optuna's NSGA-II through Ray's OptunaSearch): a baseline
for the multi-objective benchmarks. Optuna is the bench extra, so the tests that build the
searcher skip without it; the config and missing-Optuna tests run everywhere."""

import math
import sys

import numpy as np
import pytest

from pipeline.config import build
from pipeline.errors import UsageError
from pipeline.pareto_select import search_context
from pipeline.registry import MULTI_OBJECTIVE_SEARCHERS, SEARCHERS, SearchContext

MO = {
    "task": "digits",
    "objectives": ["val_accuracy:max", "params:min"],
    "constraints": ["latency_ms <= 20"],
    "stages": [
        {"name": "s", "max_epochs": 2, "searcher": "optuna-nsga2", "scheduler": "fifo", "budget": {"trials": 2}}
    ],
}


def context(tmp_path, seed=0):
    c = build({**MO, "output": str(tmp_path / "exp")})
    return c, SearchContext(space=c.space, metric=c.metric, mode=c.mode, seed=seed, max_resource=2, **search_context(c))


def test_a_config_naming_it_with_several_objectives_validates(tmp_path):
    pytest.importorskip("optuna")
    c = build({**MO, "output": str(tmp_path / "exp")})
    assert "optuna-nsga2" in MULTI_OBJECTIVE_SEARCHERS
    assert c.multi_objective and [s.searcher for s in c.stages] == ["optuna-nsga2"]
    assert "block" in c.space.names  # the architecture space, with its conditional branches


def test_without_optuna_the_config_error_names_the_bench_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna raises ImportError
    with pytest.raises(UsageError) as err:
        build({**MO, "output": str(tmp_path / "exp")})
    assert err.value.field.endswith("searcher")
    assert 'pip install -e ".[bench]"' in err.value.message and "\n" not in err.value.message
    assert not (tmp_path / "exp").exists()


def test_the_factory_builds_nsga2_on_the_objectives_and_suggests_arch_configs(tmp_path):
    optuna = pytest.importorskip("optuna")
    c, ctx = context(tmp_path)
    searcher = SEARCHERS["optuna-nsga2"](ctx)
    assert isinstance(searcher._ot_study.sampler, optuna.samplers.NSGAIISampler)
    assert searcher.metric == ["val_accuracy", "params"] and searcher.mode == ["max", "min"]
    blocks = set()
    configs = [searcher.suggest(str(i)) for i in range(12)]
    for config in configs:
        # a nested configuration of the space, nothing else (no flat names such as block[1])
        assert set(config) == set(c.space.to_tree())
        assert c.space.from_flat(c.space.to_flat(config)) == config
        blocks.add(config["block"]["name"])
    assert blocks == {"plain", "bottleneck", "inverted"}  # every branch of the conditional choice
    again = SEARCHERS["optuna-nsga2"](ctx)  # the seed fixes the sequence
    assert [again.suggest(str(i)) for i in range(12)] == configs
    other = SEARCHERS["optuna-nsga2"](context(tmp_path, seed=1)[1])
    assert [other.suggest(str(i)) for i in range(12)] != configs


def test_finished_trials_carry_their_constraint_violations_to_optuna(tmp_path):
    pytest.importorskip("optuna")
    _, ctx = context(tmp_path)
    searcher = SEARCHERS["optuna-nsga2"](ctx)
    results = [
        {"val_accuracy": 0.9, "params": 1000, "latency_ms": 12.5},  # feasible: 12.5 - 20
        {"val_accuracy": 0.95, "params": 3000, "latency_ms": 26.0},  # 6 ms over
        {"val_accuracy": 0.8, "params": 500},  # latency missing: infinitely violated
    ]
    for i, r in enumerate(results):
        searcher.suggest(str(i))
        searcher.on_trial_complete(str(i), r)
    trials = searcher._ot_study.trials
    got = [[v for k, v in t.system_attrs.items() if k.startswith("constraints")] for t in trials]
    assert got == [[-7.5], [6.0], [math.inf]]
    assert [t.values for t in trials] == [[0.9, 1000], [0.95, 3000], [0.8, 500]]


def test_points_to_evaluate_are_asked_first(tmp_path):
    pytest.importorskip("optuna")
    c, ctx = context(tmp_path)
    first = c.space.sample(np.random.default_rng(3))
    searcher = SEARCHERS["optuna-nsga2"](
        SearchContext(**{**ctx.__dict__, "points_to_evaluate": (first,)})  # a previous stage's pick
    )
    suggested = searcher.suggest("0")
    assert c.space.to_flat(suggested) == pytest.approx(c.space.to_flat(first))


def test_violations_follow_optunas_sign_convention():
    from pipeline.optuna_nsga2 import violations

    cons = [("latency_ms", "<=", 20.0), ("val_accuracy", ">=", 0.9), ("params", "<", 100.0)]
    assert violations({"latency_ms": 20.0, "val_accuracy": 0.95, "params": 150}, cons) == pytest.approx(
        [0.0, -0.05, 50.0]
    )
    assert violations({"latency_ms": float("nan"), "val_accuracy": True}, cons) == [math.inf] * 3
