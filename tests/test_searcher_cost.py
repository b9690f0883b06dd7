"""A suggestion's cost is bounded: TPE fits its bad estimator on the newest observations only."""

import numpy as np

from searchers.space import Float, Int, SearchSpace
from searchers.tpe import TPESearcher

SPACE = SearchSpace({"x": Float(0.0, 1.0), "y": Float(1e-3, 1.0, log=True), "n": Int(1, 9)})


def _fed(n, **kw):
    s = TPESearcher(SPACE, metric="loss", mode="min", seed=3, **kw)
    rng = np.random.default_rng(0)
    for i in range(n):
        flat = SPACE.sample_flat(rng)
        s.record.add(f"h{i}", flat)
        s.record.complete(f"h{i}", (flat["x"] - 0.3) ** 2 + np.log10(flat["y"]) ** 2 / 9)
    return s


def test_below_the_cap_suggestions_are_those_of_an_uncapped_tpe():
    capped, uncapped = _fed(300, max_observations=2000), _fed(300, max_observations=None)
    for i in range(5):
        assert capped.suggest(f"t{i}") == uncapped.suggest(f"t{i}")


def test_above_the_cap_g_sees_the_newest_observations_and_good_ones_come_from_all():
    s = _fed(400, max_observations=60)
    s.suggest("t")
    d = s.core.last_decision
    assert d.n_observed == 400
    assert d.n_good == 25  # min(ceil(0.1 * 400), max_good): chosen among all 400
    assert d.n_bad == 60 - 25  # the newest 35 of the 375 bad ones


def test_newest_keeps_the_last_true_entries():
    from searchers.tpe.core import _newest

    mask = np.array([True, False, True, True, False, True])
    assert _newest(mask, 2).tolist() == [False, False, False, True, False, True]
    assert _newest(mask, 9).tolist() == mask.tolist()
    assert _newest(mask, 0).tolist() == [False] * 5 + [True]  # g never empty


def test_good_mask_picks_what_a_stable_sort_picks_ties_to_the_earlier_row():
    from searchers.tpe.split import good_mask

    rng = np.random.default_rng(0)
    for _ in range(500):
        n = int(rng.integers(1, 40))
        values = rng.integers(0, 5, n).astype(float)  # many ties
        values[rng.random(n) < 0.2] = np.nan
        k = int(rng.integers(0, n + 2))
        observed = np.flatnonzero(~np.isnan(values))
        expected = np.zeros(n, dtype=bool)
        expected[observed[np.argsort(values[observed], kind="stable")[:k]]] = True
        assert good_mask(values, k).tolist() == expected.tolist()
