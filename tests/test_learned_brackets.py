"""Asynchronous Hyperband drawing brackets by level weights (Hyper-Tune's bracket choice):
the probabilities by hand, the draws against them, replay from the journal's events, and
the state round trip."""

import math

import numpy as np
import pytest

from schedulers.async_core import HYPERBAND_SHARE, AsyncHyperband
from schedulers.levels import bracket_sizes


def core(seed=0):
    # levels 1, 3, 9 below 27: brackets start at 1, 3, 9 and 27; Hyperband's sizes [27, 12, 6, 4]
    return AsyncHyperband(1, 27, 3, rule="stopping", brackets=4, seed=seed)


HB = np.array(bracket_sizes(3, 3)) / sum(bracket_sizes(3, 3))


def test_hyperband_sizes_until_weights_arrive():
    c = core()
    assert bracket_sizes(3, 3) == [27, 12, 6, 4]
    assert c.bracket_probabilities() == pytest.approx(HB.tolist())
    c.set_level_weights(None)
    assert c.bracket_probabilities() == pytest.approx(HB.tolist())


def test_probabilities_by_hand():
    c = core()
    # all the weight on level 3: bracket 1 gets 3/4 plus its quarter of Hyperband's share
    c.set_level_weights([[1, 0.0], [3, 1.0], [9, 0.0], [27, 0.0]])
    expected = HYPERBAND_SHARE * HB + (1 - HYPERBAND_SHARE) * np.array([0, 1, 0, 0])
    assert c.bracket_probabilities() == pytest.approx(expected.tolist())
    assert c.bracket_probabilities()[1] == pytest.approx(0.25 * 12 / 49 + 0.75)
    # weights split 1:3 between levels 1 and 27; a level the brackets do not start at is ignored
    c.set_level_weights([[1.0, 0.2], [27.0, 0.6], [2.0, 0.2]])
    expected = HYPERBAND_SHARE * HB + (1 - HYPERBAND_SHARE) * np.array([0.25, 0, 0, 0.75])
    assert c.bracket_probabilities() == pytest.approx(expected.tolist())
    assert math.isclose(sum(c.bracket_probabilities()), 1.0)
    # no weight on any bracket's first level: Hyperband's distribution
    c.set_level_weights([[2.0, 1.0]])
    assert c.bracket_probabilities() == pytest.approx(HB.tolist())


def test_bad_weights_are_refused():
    with pytest.raises(ValueError, match="finite and >= 0"):
        core().set_level_weights([[1, -0.1]])
    with pytest.raises(ValueError, match="finite and >= 0"):
        core().set_level_weights([[1, float("nan")]])


def test_draws_follow_the_learnt_probabilities():
    c = core(seed=4)
    c.set_level_weights([[9, 1.0]])
    n = 4000
    counts = np.bincount([c.add(f"t{i}").bracket for i in range(n)], minlength=4)
    p = np.array(c.bracket_probabilities())
    # each count is binomial(n, p_b): within 4 standard deviations
    assert np.all(np.abs(counts - n * p) <= 4 * np.sqrt(n * p * (1 - p))), (counts, n * p)
    assert counts[2] > counts[0]  # Hyperband alone would put 27/49 of them in bracket 0


def test_replaying_the_events_draws_the_same_brackets():
    a = core(seed=7)
    events = []
    weights = [None, [[1, 0.5], [3, 0.5]], [[27, 1.0]], [[27, 1.0]], [[3, 0.1], [9, 0.9]]]
    for step, w in enumerate(weights):
        version = a.version
        a.set_level_weights(w)
        if a.version != version:  # an unchanged weight is no event (the adapter journals changes only)
            events.append(["set_level_weights", w])
        for i in range(10):
            a.add(f"t{step}-{i}")
            events.append(["add", f"t{step}-{i}"])
    assert sum(e[0] == "set_level_weights" for e in events) == 3
    b = core(seed=7)
    for e in events:
        b.apply(e)
    assert [t.bracket for t in b.trials()] == [t.bracket for t in a.trials()]
    # and a core loaded from a's state draws what a draws next
    c = core(seed=7)
    c.load(a.to_dict())
    assert c.bracket_probabilities() == pytest.approx(a.bracket_probabilities())
    assert [c.add(f"n{i}").bracket for i in range(20)] == [a.add(f"n{i}").bracket for i in range(20)]


def test_the_pipeline_name_pairs_with_hypertune_and_learns():
    from pipeline.registry import SCHEDULERS, SearchContext, stage_searcher
    from searchers.space import SearchSpace

    assert stage_searcher(None, "hyperband-learnt") == "hypertune"
    with pytest.raises(ValueError, match="hypertune"):
        stage_searcher("tpe", "hyperband-learnt")
    ctx = SearchContext(SearchSpace({"x": {"type": "float", "low": 0, "high": 1}}), "loss", "min", 0, 27)
    scheduler = SCHEDULERS["hyperband-learnt"](ctx)
    assert scheduler.learn_brackets and len(scheduler.core.brackets) == 4


def test_learn_brackets_needs_asynchronous_hyperband():
    from schedulers import HyperbandScheduler

    with pytest.raises(ValueError, match="synchronous=False"):
        HyperbandScheduler(max_resource=27, learn_brackets=True)
    with pytest.raises(ValueError, match="learn_brackets must be True or False"):
        HyperbandScheduler(max_resource=27, synchronous=False, learn_brackets=1)


def test_the_adapter_finds_the_weights_under_a_concurrency_limiter():
    from types import SimpleNamespace

    from ray.tune.search import ConcurrencyLimiter

    from schedulers import HyperbandScheduler

    class Weighed:  # a searcher that reports level weights, as MFGPSearcher(model="hypertune") does
        def level_weights(self):
            return {9.0: 1.0}

    inner = Weighed()
    limiter = ConcurrencyLimiter.__new__(ConcurrencyLimiter)  # only its .searcher attribute is walked
    limiter.searcher = inner
    controller = SimpleNamespace(search_alg=SimpleNamespace(searcher=limiter))
    scheduler = HyperbandScheduler(max_resource=27, synchronous=False, learn_brackets=True)
    scheduler._update_level_weights(controller)
    assert scheduler.core.level_weights == [[9.0, 1.0]]
    expected = HYPERBAND_SHARE * HB + (1 - HYPERBAND_SHARE) * np.array([0, 0, 1, 0])
    assert scheduler.core.bracket_probabilities() == pytest.approx(expected.tolist())
    # a searcher without weights: Hyperband's probabilities stay
    plain = HyperbandScheduler(max_resource=27, synchronous=False, learn_brackets=True)
    plain._update_level_weights(SimpleNamespace(search_alg=SimpleNamespace(searcher=object())))
    assert plain.core.level_weights is None and plain.core.bracket_probabilities() == pytest.approx(HB.tolist())
