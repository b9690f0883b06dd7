"""Multi-objective searchers: the MOTPE split, constraints, ParEGO, determinism and save/restore."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from searchers import AutoSearcher, GPSearcher, RandomSearcher, TPESearcher
from searchers.common.objectives import parse_objectives
from searchers.gp import parego
from searchers.tpe.split import pareto_good_mask

SPACE = {"x": {"type": "float", "low": 0.0, "high": 1.0}, "y": {"type": "float", "low": 0.0, "high": 1.0}}
OBJ = {"metric": ["f0", "f1"], "mode": ["min", "max"]}


def _result(config: dict[str, Any]) -> dict[str, float]:
    x, y = config["x"], config["y"]
    return {"f0": x + 0.1 * y, "f1": (1.0 - x) - 0.1 * y, "cost": y}


def _run(searcher: Any, n: int, start: int = 0) -> list[dict[str, Any]]:
    out = []
    for i in range(start, start + n):
        config = searcher.suggest(f"t{i}")
        out.append(config)
        searcher.on_trial_complete(f"t{i}", _result(config))
    return out


def test_pareto_split_hand_made() -> None:
    # rows: (f0, f1, violation); NaN value = not observed
    vectors = np.array(
        [
            [1.0, 4.0, 0.0],  # 0 front
            [2.0, 2.0, 0.0],  # 1 front, adds the most hypervolume
            [0.0, 0.0, 1.0],  # 2 best objectives but infeasible
            [3.0, 3.0, 0.0],  # 3 rank 1
            [4.0, 1.0, 0.0],  # 4 front
            [np.nan, np.nan, np.nan],  # 5 pending
        ]
    )
    values = np.array([1.0, 2.0, 0.0, 3.0, 4.0, np.nan])
    assert np.flatnonzero(pareto_good_mask(vectors, values, 1)).tolist() == [1]
    assert np.flatnonzero(pareto_good_mask(vectors, values, 3)).tolist() == [0, 1, 4]
    assert np.flatnonzero(pareto_good_mask(vectors, values, 4)).tolist() == [0, 1, 3, 4]
    # the infeasible row comes last of the observed ones, the pending row never
    assert np.flatnonzero(pareto_good_mask(vectors, values, 9)).tolist() == [0, 1, 2, 3, 4]


def test_objectives_parse_and_errors() -> None:
    assert parse_objectives("acc", "max") is None  # one metric: the single-objective path
    assert parse_objectives(["acc"], ["max"]) is None
    obj = parse_objectives(["acc", "params"], ["max", "min"], ["params <= 10"])
    assert obj is not None and obj.vector({"acc": 0.5, "params": 12}) == (-0.5, 12.0, 2.0)
    assert parse_objectives("acc", "max", ["params <= 10"]) is not None  # constraints alone
    with pytest.raises(ValueError, match="one 'min' or 'max' per metric"):
        parse_objectives(["a", "b"], "min")
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        parse_objectives(["a", "b"], ["min", "most"])
    with pytest.raises(ValueError, match="mode has 2 entries"):
        parse_objectives("a", ["min", "max"])
    with pytest.raises(ValueError, match="constraint"):
        parse_objectives(["a", "b"], ["min", "min"], [("a", "<", 1)])
    with pytest.raises(ValueError, match="single-objective only"):
        TPESearcher(SPACE, points_to_evaluate=[{"x": 0.1, "y": 0.1}], evaluated_rewards=[1.0], **OBJ)


def test_searcher_records_vectors_and_primary_metric() -> None:
    s = TPESearcher(SPACE, seed=0, constraints=["cost <= 0.5"], **OBJ)
    assert s.metric == "f0" and s._mode == "min"
    config = s.suggest("a")
    s.on_trial_result("a", {**_result(config), "training_iteration": 1})
    s.on_trial_complete("a", {**_result(config), "training_iteration": 2})
    obs = s.record.get("a")
    r = _result(config)
    assert obs is not None and obs.vector == pytest.approx((r["f0"], -r["f1"], max(0.0, r["cost"] - 0.5)))
    assert set(obs.level_vectors) == {1.0, 2.0}
    # a result without the primary metric fails the trial, as with one objective
    s.suggest("b")
    s.on_trial_complete("b", {"f1": 1.0})
    assert s.record.get("b").state == "failed"  # type: ignore[union-attr]


def test_tuneconfig_metric_does_not_override_the_objectives() -> None:
    s = TPESearcher(SPACE, **OBJ)
    assert s.set_search_properties("f1", "max", {})
    assert s.objectives is not None and s.objectives.metrics == ["f0", "f1"] and s.metric == "f0"
    # a list given through set_search_properties (the searcher had none) turns it on
    t = TPESearcher(SPACE)
    assert t.set_search_properties(["f0", "f1"], ["min", "max"], {})  # type: ignore[arg-type]
    assert t.objectives is not None and t.metric == "f0"


@pytest.mark.parametrize("cls", [TPESearcher, GPSearcher, RandomSearcher, AutoSearcher])
def test_deterministic_and_restores_mid_run(cls: Any, tmp_path: Path) -> None:
    kw: dict[str, Any] = {"n_startup_trials": 4} if cls is not RandomSearcher else {}
    if cls is GPSearcher:
        kw.update(n_candidates=64, fit_restarts=1)
    if cls is AutoSearcher:  # ParEGO's GP, then MO-TPE from trial 6: the restore is past the switch
        kw.update(switch_after=6, gp={"n_candidates": 64, "fit_restarts": 1})
    a = cls(SPACE, seed=1, constraints=["cost <= 0.8"], **OBJ, **kw)
    b = cls(SPACE, seed=1, constraints=["cost <= 0.8"], **OBJ, **kw)
    first = _run(a, 8)
    assert first == _run(b, 8)
    path = str(tmp_path / "state.pkl")
    a.save(path)
    rest = _run(a, 4, start=8)
    c = cls(space=None, **kw)
    c.restore(path)
    assert c.objectives == a.objectives
    assert _run(c, 4, start=8) == rest
    if cls is AutoSearcher:
        assert [a.served_by[f"t{i}"] for i in range(4, 12)] == ["gp"] * 2 + ["tpe"] * 6


def test_mo_tpe_split_uses_the_pareto_order() -> None:
    s = TPESearcher(SPACE, seed=0, n_startup_trials=5, gamma=0.5, **OBJ)
    _run(s, 10)
    core = s.core
    assert core is not None
    s.suggest("next")
    decision = core.last_decision
    assert decision is not None and decision.n_good == 5
    # the good set the core used is the first 5 of the Pareto order of the 10 results
    from searchers.common.pareto import pareto_order

    vecs = core.table.vectors_at(None)[:10]
    expected = sorted(pareto_order(vecs[:, :-1], vecs[:, -1], 5).tolist())
    got = np.flatnonzero(pareto_good_mask(core.table.vectors_at(None), core.table.values_at(None), 5)).tolist()
    assert got == expected


def test_constrained_tpe_prefers_feasible_region() -> None:
    # everything with cost > 0.3 is infeasible; after the start-up trials most suggestions
    # should land in the feasible region (the good set holds only feasible trials)
    s = TPESearcher(SPACE, seed=3, n_startup_trials=10, constraints=["cost <= 0.3"], **OBJ)
    configs = _run(s, 60)
    late = [c["y"] <= 0.3 for c in configs[30:]]
    early = [c["y"] <= 0.3 for c in configs[:10]]
    # uniform sampling is feasible with probability 0.3; the binomial s.d. of 30 draws is
    # sqrt(30 * 0.3 * 0.7) = 2.5, so 20 or more feasible is > 4 s.d. above chance
    assert sum(late) >= 20, (sum(early), sum(late))


def test_parego_scalarisation_hand_computed() -> None:
    vectors = np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 3.0], [np.inf, 1.0, 0.0]])
    w = np.array([0.5, 0.5])
    s = parego.scalarise(vectors, w)
    # feasible ranges: f0 in [0, 1] (the inf one counts as the worst: 1), f1 in [0, 2]
    # row 0: f = (0, 1): max 0.5 + 0.05 * 0.5 = 0.525; row 2: (0.5, 0.5): 0.25 + 0.025
    assert s[0] == pytest.approx(0.525) and s[1] == pytest.approx(0.525) and s[2] == pytest.approx(0.275)
    assert s[4] == pytest.approx(0.5 + 0.05 * 0.75)
    # the infeasible row scores above every feasible one
    assert s[3] > s[[0, 1, 2, 4]].max()
    w2 = parego.random_weights(3, np.random.default_rng(0))
    assert w2.shape == (3,) and math.isclose(float(w2.sum()), 1.0) and np.all(w2 >= 0)


def test_multivariate_default_is_independent_with_several_objectives() -> None:
    from searchers.tpe.core import TPESettings

    with pytest.raises(ValueError, match="multivariate must be True, False or None"):
        TPESettings(multivariate="yes")  # type: ignore[arg-type]
    default = _run(TPESearcher(SPACE, seed=2, n_startup_trials=4, **OBJ), 10)
    independent = _run(TPESearcher(SPACE, seed=2, n_startup_trials=4, multivariate=False, **OBJ), 10)
    joint = _run(TPESearcher(SPACE, seed=2, n_startup_trials=4, multivariate=True, **OBJ), 10)
    assert default == independent and default[:4] == joint[:4] and default[4:] != joint[4:]
    # one objective keeps the joint kernels (today's suggestion stream)
    one = {"metric": "f0", "mode": "min"}
    assert _run(TPESearcher(SPACE, seed=2, n_startup_trials=4, **one), 10) == _run(
        TPESearcher(SPACE, seed=2, n_startup_trials=4, multivariate=True, **one), 10
    )
