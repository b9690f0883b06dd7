"""benchmarks/mf_real.py: real learning curves behave as the simulated problems' do for the
controller (a value per epoch, deterministic per seed) and cost what the methods spend."""

import math

import numpy as np
import pytest

from benchmarks.mf_real import FINAL_SEEDS, RealCurveProblem, _config_key, flat_space, relative_to_best

CONFIG = {"lr": 0.01, "batch_size": 64, "channels": 4, "hidden": 16, "dropout": 0.0}


def tiny(max_resource=3):
    return RealCurveProblem(
        "t@0",
        task="digits",
        space=flat_space((4, 8), (16, 32)),
        max_resource=max_resource,
        data_fraction=0.3,
        resolution=4,
    )


def test_continuing_from_the_kept_state_gives_the_curve_of_one_straight_training():
    p = tiny()
    stepwise = [p.value(CONFIG, r, 0) for r in (1, 2, 3)]
    straight = tiny().value(CONFIG, 3, 0)
    assert stepwise[2] == straight
    assert all(0.0 <= v <= 1.0 for v in stepwise)
    other_seed = tiny().value(CONFIG, 3, 1)
    assert other_seed != straight  # the seed picks the split and weights


def test_a_request_trains_on_to_the_next_rung_level_and_no_further():
    p = tiny(max_resource=9)
    p.value(CONFIG, 2, 0)  # level 3: a trial past epoch 1 is not stopped before epoch 3
    assert len(p._curves[(_config_key(CONFIG), 0)]) == 3
    p.value(CONFIG, 4, 0)
    assert len(p._curves[(_config_key(CONFIG), 0)]) == 9


def test_final_is_the_mean_of_fresh_full_trainings_and_is_cached():
    p = tiny()
    f = p.final(CONFIG)
    assert f == pytest.approx(np.mean([p.value(CONFIG, 3, s) for s in FINAL_SEEDS]))
    p._curves.clear()
    assert p.final(CONFIG) == f  # no training the second time


def test_equal_configurations_from_numpy_and_python_share_a_key():
    assert _config_key({"a": np.int64(16), "b": np.float64(0.5)}) == _config_key({"b": 0.5, "a": 16})


def test_regret_is_measured_from_the_best_final_of_any_logged_run():
    entries = [
        {"problem": "d@0", "real": True, "curve": [(5, 0.30), (9, 0.12)]},
        {"problem": "d@0", "real": True, "curve": [(4, 0.10), (8, 0.15)]},
        {"problem": "s@0", "curve": [(3, 0.5)]},  # a simulated problem: already a regret
    ]
    out = relative_to_best(entries)
    assert [g for _, g in out[0]["curve"]] == pytest.approx([0.20, 0.02])
    assert [g for _, g in out[1]["curve"]] == pytest.approx([0.0, 0.05])
    assert out[2]["curve"] == [(3, 0.5)]
    assert math.isclose(entries[0]["curve"][0][1], 0.30)  # the log's entries are not changed
