"""The multi-fidelity GP core (searchers/mf): rung weights, surrogates, suggestions, state."""

import math
import pickle

import numpy as np
import pytest

from searchers.gp.hyper import Hyper
from searchers.gp.posterior import Posterior
from searchers.mf import MFCore
from searchers.mf.rungs import Rung, cap_joint, collect, in_flight, rung_levels
from searchers.mf.surrogates import Ensemble, ResourceSlice, loo_means
from searchers.mf.weights import bootstrap_losses, ranking_loss, rung_weights
from searchers.record import TrialRecord
from searchers.space import Float, SearchSpace

# ----------------------------------------------------------------- weights


def test_ranking_loss_counts_ordered_pairs_the_wrong_way_round():
    target = np.array([1.0, 2.0, 3.0, 4.0])
    assert ranking_loss(target * 10, target) == 0
    # reversed: all 6 unordered pairs wrong, counted in both orders
    assert ranking_loss(target[::-1].copy(), target) == 12
    # one adjacent swap: the pair (0, 1) in both orders
    assert ranking_loss(np.array([2.0, 1.0, 3.0, 4.0]), target) == 2


def test_bootstrap_losses_equal_direct_ranking_loss_on_each_resample():
    rng = np.random.default_rng(3)
    preds = rng.normal(size=(3, 7))
    target = rng.normal(size=7)
    losses = bootstrap_losses(preds, target, np.random.default_rng(5), 20)
    idx = np.random.default_rng(5).integers(0, 7, size=(20, 7))
    for s in range(20):
        for m in range(3):
            assert losses[s, m] == ranking_loss(preds[m, idx[s]], target[idx[s]])


def test_weights_match_the_hand_worked_example():
    """Targets 1..4; rung A ranks them perfectly, rung B backwards, the top rung (LOO)
    swaps trials 0 and 1. A resample shows the top rung's mistake only if it holds both
    trial 0 and trial 1: P = 1 - 2 (3/4)^4 + (2/4)^4 = 0.4296875. Otherwise A and the top
    rung tie at 0 and the tie goes to the top rung; B never wins (it ties at 0 only on a
    resample of one repeated trial, and then loses the tie)."""
    target = np.array([1.0, 2.0, 3.0, 4.0])
    preds = np.array([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0], [2.0, 1.0, 3.0, 4.0]])
    n = 20000
    w = rung_weights(preds, target, np.random.default_rng(0), n)
    p = 1 - 2 * 0.75**4 + 0.5**4
    tol = 4 * math.sqrt(p * (1 - p) / n)
    assert w[1] == 0.0
    assert abs(w[0] - p) < tol
    assert abs(w[2] - (1 - p)) < tol
    assert math.isclose(w.sum(), 1.0)


def test_weights_ties_go_to_the_highest_rung():
    target = np.array([3.0, 1.0, 2.0])
    w = rung_weights(np.stack([target, target, target]), target, np.random.default_rng(0), 50)
    assert w.tolist() == [0.0, 0.0, 1.0]


# ----------------------------------------------------------------- rungs


def test_rung_levels_are_ashas():
    assert rung_levels(1, 27, 3) == [1.0, 3.0, 9.0, 27.0]
    assert rung_levels(1, 10, 3) == [1.0, 3.0, 9.0, 10.0]
    assert rung_levels(2, 2, 3) == [2.0]


def test_collect_takes_rung_levels_only_and_warm_starts_at_the_top():
    rec = TrialRecord()
    rec.add("a", {"x": 0.1})
    for r, loss in [(1, 5.0), (2, 4.0), (3, 3.0)]:
        rec.report("a", r, loss)
    rec.add("w", {"x": 0.2})
    rec.complete("w", 0.5)  # a warm start: no levels
    rec.add("f", {"x": 0.3})
    rec.report("f", 1, 9.0)
    rec.fail("f")
    rec.add("p", {"x": 0.4})  # in flight, nothing reported
    rungs = collect(rec, [1.0, 3.0, 9.0])
    assert [(r.level, r.losses.tolist()) for r in rungs] == [(1.0, [5.0]), (3.0, [3.0]), (9.0, [0.5])]
    assert in_flight(rec, 8) == [{"x": 0.4}]


def test_joint_cap_serves_the_highest_rungs_first():
    rng = np.random.default_rng(0)
    rungs = [Rung(float(lv), [{"x": i} for i in range(n)], rng.normal(size=n)) for lv, n in [(1, 100), (3, 30), (9, 5)]]
    capped = cap_joint(rungs, 50, rng)
    assert [len(r) for r in capped] == [15, 30, 5]


# ----------------------------------------------------------------- surrogates


def _posterior(X, y, lengthscale=0.3):
    hyper = Hyper(np.full(X.shape[1], lengthscale), 1.0, 1e-3, 0.0)
    return Posterior(X, y, hyper, hyper.column_weights(np.arange(X.shape[1]), np.ones(X.shape[1])))


def test_loo_means_equal_refitting_without_each_point():
    rng = np.random.default_rng(1)
    X, y = rng.uniform(size=(8, 2)), rng.normal(size=8)
    post = _posterior(X, y)
    loo = loo_means(post)
    for i in range(8):
        keep = np.arange(8) != i
        direct = _posterior(X[keep], y[keep]).predict(X[i : i + 1])[0][0]
        assert loo[i] == pytest.approx(direct, rel=1e-6, abs=1e-6)


def test_ensemble_is_the_weighted_product_of_experts_and_its_gradient_is_exact():
    rng = np.random.default_rng(2)
    a = _posterior(rng.uniform(size=(6, 2)), rng.normal(size=6))
    b = _posterior(rng.uniform(size=(9, 2)), rng.normal(size=9), 0.5)
    ens = Ensemble([a, b], [0.25, 0.75])
    Xq = rng.uniform(size=(4, 2))
    (ma, va), (mb, vb) = a.predict(Xq), b.predict(Xq)
    prec = 0.25 / va + 0.75 / vb
    mean, var = ens.predict(Xq)
    assert np.allclose(var, 1 / prec) and np.allclose(mean, (0.25 * ma / va + 0.75 * mb / vb) / prec)
    # one expert with weight 1 is that expert
    alone = Ensemble([a, b], [1.0, 0.0])
    assert np.allclose(alone.predict(Xq)[0], ma) and np.allclose(alone.predict(Xq)[1], va)
    _, _, dm, dv = ens.predict_with_grad(Xq)
    h = 1e-6
    for d in range(2):
        step = np.zeros(2)
        step[d] = h
        mp, vp = ens.predict(Xq + step)
        mm, vm = ens.predict(Xq - step)
        assert np.allclose(dm[:, d], (mp - mm) / (2 * h), atol=1e-5)
        assert np.allclose(dv[:, d], (vp - vm) / (2 * h), atol=1e-5)


def toy_curve(x: float, r: float) -> float:
    """Learning curves: loss (x - 0.3)^2 at the end, 1/r above it on the way."""
    return (x - 0.3) ** 2 + 1.0 / r


def test_joint_posterior_on_a_toy_curve_predicts_the_final_loss():
    xs = np.linspace(0, 1, 9)
    rows, ys = [], []
    for x in xs:
        for r, u in [(1, 0.0), (3, 0.5), (9, 1.0)]:
            if r == 9 and x not in xs[::2]:
                continue  # half the configurations reach the top, as under ASHA
            rows.append([x, u])
            ys.append(toy_curve(x, r))
    X, y = np.array(rows), np.array(ys)
    core = MFCore(model="joint")
    group, weight = np.array([0, 1]), np.ones(2)
    post = core._fit("joint", X, (y - y.mean()) / y.std(), group, weight, np.random.default_rng(0))
    top = ResourceSlice(post, 1.0)
    Xq = np.array([[0.3], [xs[1]], [0.9]])
    mean, var = top.predict(Xq)
    truth = np.array([toy_curve(x, 9) for x in Xq[:, 0]])
    pred = mean * y.std() + y.mean()
    # in loss units, within 0.05 of the truth (the curve spans ~1.5); the ordering right
    assert np.all(np.abs(pred - truth) < 0.05), (pred, truth)
    assert mean[0] < mean[1] < mean[2]
    # less certain where no trial reached the top than where one did
    assert top.predict(np.array([[xs[1]]]))[1][0] > top.predict(np.array([[xs[2]]]))[1][0]


# ----------------------------------------------------------------- suggestions

SPACE = SearchSpace({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})


def objective(flat, r):
    return (flat["x"] - 0.3) ** 2 + (flat["y"] - 0.7) ** 2 + (0.5 + flat["y"]) / r


def drive(core, rng, record, n, start=0):
    """Suggest n configurations; each reports at rungs 1, 3 and (every other one) 9."""
    out = []
    for i in range(start, start + n):
        flat = core.propose(SPACE, record, rng)
        tid = f"t{i}"
        record.add(tid, flat)
        for r in (1, 3, 9) if i % 2 == 0 else (1, 3):
            record.report(tid, r, objective(flat, r))
        record.complete(tid, None)
        out.append(flat)
    return out


@pytest.mark.parametrize(("model", "target_level"), [("hypertune", "max"), ("joint", "max"), ("joint", "populated")])
def test_same_seed_same_suggestions_and_restore_mid_run_is_exact(model, target_level):
    def fresh():
        return MFCore(
            model=model, max_resource=9, n_startup_trials=6, n_candidates=64, n_bootstrap=20, target_level=target_level
        )

    core, rng, rec = fresh(), np.random.default_rng(7), TrialRecord()
    first = drive(core, rng, rec, 12)
    saved = pickle.dumps((core, rng.bit_generator.state, rec))
    rest = drive(core, rng, rec, 4, start=12)

    core2, rng2, rec2 = fresh(), np.random.default_rng(7), TrialRecord()
    assert drive(core2, rng2, rec2, 12) == first

    core3, state, rec3 = pickle.loads(saved)
    rng3 = np.random.default_rng()
    rng3.bit_generator.state = state
    assert drive(core3, rng3, rec3, 4, start=12) == rest
    assert core.thetas.keys() == core3.thetas.keys()


def test_hypertune_gives_no_weight_to_a_rung_that_ranks_backwards():
    core = MFCore(model="hypertune", max_resource=9, n_startup_trials=4, n_candidates=64, n_bootstrap=200)
    rec = TrialRecord()
    rng = np.random.default_rng(0)
    for i in range(12):
        x = float(rng.uniform())
        rec.add(f"t{i}", {"x": x, "y": 0.5})
        rec.report(f"t{i}", 1, -((x - 0.3) ** 2))  # rung 1 ranks backwards
        rec.report(f"t{i}", 3, (x - 0.3) ** 2 + 0.1)  # rung 3 ranks right
        if i < 8:
            rec.report(f"t{i}", 9, (x - 0.3) ** 2)
        rec.complete(f"t{i}", None)
    core.propose(SPACE, rec, np.random.default_rng(1))
    assert core.weights[1.0] == 0.0
    assert core.weights[3.0] + core.weights[9.0] == pytest.approx(1.0)


def _rungs_filled(counts: dict[float, int]) -> TrialRecord:
    """Trials 0..n-1 report level 1; the first counts[3] also 3, the first counts[9] also 9."""
    rec, rng = TrialRecord(), np.random.default_rng(4)
    for i in range(counts[1.0]):
        x, y = (float(v) for v in rng.uniform(size=2))
        rec.add(f"t{i}", {"x": x, "y": y})
        for level in (1.0, 3.0, 9.0):
            if i < counts[level]:
                rec.report(f"t{i}", level, (x - 0.3) ** 2 + (y - 0.7) ** 2 + 1.0 / level)
    return rec


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # 2 parameters: a level needs max(6, 2 + 1) = 6 observations
        ({1.0: 12, 3.0: 6, 9.0: 5}, 3.0),
        ({1.0: 12, 3.0: 7, 9.0: 6}, 9.0),
        ({1.0: 12, 3.0: 5, 9.0: 4}, 1.0),
        ({1.0: 5, 3.0: 4, 9.0: 4}, 1.0),  # none has 6: the lowest level with data
    ],
)
def test_populated_target_is_the_highest_level_with_enough_observations(counts, expected):
    rec = _rungs_filled(counts)
    populated = MFCore(model="joint", max_resource=9, n_startup_trials=4, n_candidates=32, target_level="populated")
    populated.propose(SPACE, rec, np.random.default_rng(0))
    assert populated.last_target == expected
    top = MFCore(model="joint", max_resource=9, n_startup_trials=4, n_candidates=32)
    top.propose(SPACE, rec, np.random.default_rng(0))
    assert top.last_target == 9.0


def test_a_core_pickled_before_target_level_restores_targeting_the_top():
    core = MFCore(model="joint", max_resource=9)
    state = core.__getstate__()
    del state["target_level"], state["last_target"]
    old = MFCore.__new__(MFCore)
    old.__setstate__(state)
    assert old.target_level == "max" and old.last_target is None


@pytest.mark.parametrize("model", ["hypertune", "joint"])
def test_model_finds_the_optimum_region_better_than_random(model):
    core, rng, rec = (
        MFCore(model=model, max_resource=9, n_startup_trials=6, n_candidates=128),
        np.random.default_rng(0),
        TrialRecord(),
    )
    flats = drive(core, rng, rec, 24)
    model_d = [math.hypot(f["x"] - 0.3, f["y"] - 0.7) for f in flats[6:]]
    rand = SPACE.sample_flat(np.random.default_rng(1))
    rng_r = np.random.default_rng(2)
    rand_d = [math.hypot(f["x"] - 0.3, f["y"] - 0.7) for f in (SPACE.sample_flat(rng_r) for _ in range(2000))]
    assert rand is not None
    # the model's suggestions after start-up sit far closer to the optimum than random ones
    assert np.median(model_d) < 0.5 * np.median(rand_d)


def test_bad_settings_name_the_field():
    with pytest.raises(ValueError, match="model must be one of"):
        MFCore(model="freeze-thaw")
    with pytest.raises(ValueError, match="reduction_factor"):
        MFCore(reduction_factor=1)
    with pytest.raises(ValueError, match="max_resource"):
        MFCore(min_resource=10, max_resource=3)
    with pytest.raises(ValueError, match="min_rung_points"):
        MFCore(min_rung_points=2)
    with pytest.raises(ValueError, match="lengthscale_prior must be one of optuna, gamma, dim-scaled, got 'flat'"):
        MFCore(lengthscale_prior="flat")
    with pytest.raises(ValueError, match="target_level must be one of max, populated, got 'top'"):
        MFCore(target_level="top")
    with pytest.raises(ValueError, match="target_level='populated' applies with model='joint' only"):
        MFCore(model="hypertune", target_level="populated")
