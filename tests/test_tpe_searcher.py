"""TPESearcher through Ray's Searcher callbacks (no Ray runtime): contract, state, fidelity."""

import math
import pickle

import numpy as np
import pytest
from ray import tune

from searchers import SearchSpace, TPESearcher
from searchers.tpe.table import ObservationTable

SPACE = {
    "lr": tune.loguniform(1e-4, 1e-1),
    "units": tune.qrandint(16, 128, 16),
    "opt": tune.choice(
        [{"name": "sgd", "momentum": tune.uniform(0.0, 0.99)}, {"name": "adam", "beta1": tune.uniform(0.8, 0.99)}]
    ),
}


def loss_of(config):
    opt = config["opt"]
    extra = (opt["momentum"] - 0.9) ** 2 if opt["name"] == "sgd" else 0.3 + (opt["beta1"] - 0.9) ** 2
    return (math.log10(config["lr"]) + 2) ** 2 + ((config["units"] - 64) / 64) ** 2 + extra


def make(**kw):
    kw.setdefault("metric", "loss")
    kw.setdefault("mode", "min")
    return TPESearcher(SPACE, **kw)


def drive(searcher, ids, pending=2, levels=(1, 2)):
    """Suggest ``ids`` keeping ``pending`` in flight; report each level, then complete."""
    flight, out = [], []
    for tid in ids:
        cfg = searcher.suggest(tid)
        out.append(cfg)
        flight.append((tid, cfg))
        if len(flight) > pending:
            old, old_cfg = flight.pop(0)
            for lv in levels:
                searcher.on_trial_result(old, {"loss": loss_of(old_cfg) / lv, "training_iteration": lv})
            searcher.on_trial_complete(old, {"loss": loss_of(old_cfg) / levels[-1], "training_iteration": levels[-1]})
    return out


def test_same_seed_same_suggestions_and_every_config_is_complete():
    a, b, c = make(seed=3), make(seed=3), make(seed=4)
    ids = [f"t{i}" for i in range(30)]
    sa = drive(a, ids)
    assert sa == drive(b, ids)
    assert sa != drive(c, ids)
    space = SearchSpace(SPACE)
    for cfg in sa:
        space.to_flat(cfg)  # complete and valid: Tune resolves nothing in a suggestion
    assert a.core.last_decision is not None  # the model was used after the startup trials


def test_restored_halfway_suggests_exactly_what_the_uninterrupted_run_suggests(tmp_path):
    settings = dict(
        seed=11,
        n_startup_trials=5,
        n_candidates=13,
        gamma=0.2,
        prior_weight=0.5,
        points_to_evaluate=[{"lr": 0.01, "units": 64, "opt": {"name": "adam", "beta1": 0.9}}],
    )
    full, half = make(**settings), make(**settings)
    first = [f"a{i}" for i in range(17)]
    assert drive(full, first) == drive(half, first)
    half.on_trial_result("a16", {"loss": 0.5, "training_iteration": 1})  # in flight, with a result
    full.on_trial_result("a16", {"loss": 0.5, "training_iteration": 1})
    path = tmp_path / "searcher.pkl"
    half.save(str(path))
    restored = TPESearcher(seed=0, n_candidates=99, gamma=0.5)  # the state overrides all of this
    restored.restore(str(path))
    assert restored.settings == full.settings and restored.metric == "loss"
    rest = [f"b{i}" for i in range(25)]
    assert drive(restored, rest) == drive(full, rest)
    assert [(o.trial_id, o.state, o.loss, o.levels) for o in restored.record] == [
        (o.trial_id, o.state, o.loss, o.levels) for o in full.record
    ]
    assert b"ray.tune" not in path.read_bytes()


def test_every_callback_reaches_the_model_at_once():
    # The adapter's record semantics are tested with RandomSearcher; here: the core's
    # arrays follow each callback, including results of trials still running.
    s = make(mode="max")
    for tid in "abcd":
        s.suggest(tid)
    t = s.core.table
    s.on_trial_result("a", {"loss": 1.0, "training_iteration": 1})
    s.on_trial_result("b", {"loss": 2.0, "training_iteration": 4})
    np.testing.assert_array_equal(t.values_at(1.0), [-1.0, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(t.pending, [True] * 4)
    s.on_trial_complete("a", {"loss": 3.0, "training_iteration": 4})
    s.on_trial_complete("c", None, error=True)
    s.on_trial_complete("d", {"loss": float("nan"), "training_iteration": 1})
    s.on_trial_complete("unknown", {"loss": 1.0, "training_iteration": 1})
    np.testing.assert_array_equal(t.values_at(4.0), [-3.0, -2.0, np.nan, np.nan])
    np.testing.assert_array_equal(t.values_at(None), [-3.0, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(t.pending, [False, True, False, False])
    assert t.n == len(s.record) == 4


def test_multi_fidelity_fits_on_the_highest_level_with_enough_results():
    # 5 parameters (two of them conditional) -> a level needs 7 results. Every trial reports
    # levels 1 and 3, the first seven also level 9 (the others stopped early, as ASHA does).
    s = make(n_startup_trials=5)
    for i in range(12):
        cfg = s.suggest(f"t{i}")
        for lv in (1, 3) + ((9,) if i < 7 else ()):
            s.on_trial_result(f"t{i}", {"loss": loss_of(cfg) / lv, "training_iteration": lv})
        s.on_trial_complete(f"t{i}", None)
    s.suggest("next")
    d = s.core.last_decision
    assert s.core.min_points_in_level == 7
    assert (d.level, d.n_observed, d.n_good) == (9.0, 7, 1)
    assert d.n_bad == 12 - 1  # the five stopped below level 9 count as bad there
    s2 = make(n_startup_trials=5, min_points_in_level=8)  # level 9 has too few: fall back to 3
    for o in s.record:
        if o.trial_id != "next":
            s2.record.add(o.trial_id, o.flat)
            for lv, v in o.levels.items():
                s2.record.report(o.trial_id, lv, v)
            s2.record.complete(o.trial_id, None)
    s2.suggest("next")
    assert s2.core.last_decision.level == 3.0 and s2.core.last_decision.n_observed == 12


def test_points_to_evaluate_and_add_evaluated_point_feed_the_model():
    point = {"lr": 0.01, "units": 64, "opt": {"name": "sgd", "momentum": 0.9}}
    s = make(points_to_evaluate=[point])
    assert s.suggest("p") == point
    s.on_trial_complete("p", {"loss": 0.0})
    rng = np.random.default_rng(0)
    space = SearchSpace(SPACE)
    for _ in range(12):
        cfg = space.sample(rng)
        s.add_evaluated_point(cfg, loss_of(cfg))
    s.suggest("q")
    assert s.core.last_decision is not None and s.core.last_decision.n_observed == 13


def test_the_table_stays_equal_to_one_rebuilt_from_the_record():
    s = make(seed=2)
    drive(s, [f"t{i}" for i in range(20)], pending=3)
    s.on_trial_complete("t19", None, error=True)
    s.add_evaluated_point({"lr": 0.001, "units": 32, "opt": {"name": "adam", "beta1": 0.85}}, 1.0)
    s.suggest("u")
    fresh = ObservationTable(s.core.unit)
    for obs in s.record:
        fresh.observe(obs)
    np.testing.assert_array_equal(s.core.table.rows, fresh.rows)
    for level in (None, 1.0, 2.0):
        np.testing.assert_array_equal(s.core.table.values_at(level), fresh.values_at(level))
    np.testing.assert_array_equal(s.core.table.pending, fresh.pending)


def test_space_from_set_search_properties_and_pickling():
    s = TPESearcher(seed=1)
    assert s.set_search_properties("loss", "min", SPACE)
    drive(s, [f"t{i}" for i in range(15)])
    clone = pickle.loads(pickle.dumps(s))
    assert clone.suggest("x") == s.suggest("x")


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"n_candidates": 0}, "n_candidates must be an integer >= 1"),
        ({"gamma": 2.0}, r"gamma must be a number in \(0, 1\]"),
        ({"mode": "minimize"}, "mode must be 'min' or 'max'"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kw, match):
    with pytest.raises(ValueError, match=match):
        make(**kw)
