"""Pausing schedulers under ``TuneConfig(max_concurrent_trials=N)``, on the emulated controller.

Tune wraps the searcher in a ``ConcurrencyLimiter``; mftune's searchers take the limit
over (``set_max_concurrency``) and count only trials that hold a place: the scheduler
tells them which trials it paused and which it promoted. So N trials train whenever there
is work, never more than N, and no paused trial is starved. Ray's own searchers, which
leave the limit to the limiter, still finish (the stall rule releases paused trials),
at a lower utilisation.
"""

import pytest
from ray.tune.search import ConcurrencyLimiter

from benchmarks.sched_sim import RUNNING, TERMINATED, SimController
from schedulers import ASHAScheduler, HyperbandScheduler
from searchers.random_search import RandomSearcher
from searchers.tpe import TPESearcher
from tests.test_scheduler_adapter import PROBLEM, LeavesLimitToRay

N = 3
SCHEDULERS = {
    "asha-promotion": lambda: ASHAScheduler(max_resource=27, rule="promotion", seed=1),
    "bohb-async": lambda: HyperbandScheduler(max_resource=27, synchronous=False, seed=1),
    "hyperband-sync": lambda: HyperbandScheduler(max_resource=27),
}


class Tracking(SimController):
    """Notes the most trials ever training at once (a trial saving for its PAUSE is not)."""

    most = 0

    def _start(self, trial):
        super()._start(trial)
        training = sum(1 for t in self.trials if t.status == RUNNING and not t.is_saving)
        self.most = max(self.most, training)


def _run(scheduler, search, slots, **kw):
    return Tracking(search, scheduler, PROBLEM, metric="loss", mode="min", max_t=27, slots=slots, max_trials=40, **kw)


@pytest.mark.parametrize("kind", sorted(SCHEDULERS))
@pytest.mark.parametrize("searcher_cls", [RandomSearcher, TPESearcher])
def test_n_trials_train_whenever_there_is_work_and_never_more(kind, searcher_cls):
    # Resources for 8 trials, max_concurrent_trials=3: the limit is what binds.
    search = ConcurrencyLimiter(searcher_cls(PROBLEM.space, metric="loss", mode="min", seed=0), max_concurrent=N)
    sim = _run(SCHEDULERS[kind](), search, slots=8)
    limited = sim.run()
    assert not limited.stalled and sim.most == N
    assert len(limited.trials) == 40 and all(t.status == TERMINATED for t in limited.trials)  # none starved
    if searcher_cls is RandomSearcher:
        # Suggestions do not depend on timing: the run is the one where only 3 slots
        # limit concurrency (no limiter), decision for decision, on the same clock.
        free = _run(SCHEDULERS[kind](), searcher_cls(PROBLEM.space, metric="loss", mode="min", seed=0), slots=N).run()
        assert limited.decisions == free.decisions
        assert limited.time == pytest.approx(free.time) and limited.busy == pytest.approx(free.busy)


@pytest.mark.parametrize("kind", ["asha-promotion", "bohb-async"])
def test_a_searcher_that_leaves_the_limit_to_ray_finishes_at_a_lower_utilisation(kind):
    ours = ConcurrencyLimiter(RandomSearcher(PROBLEM.space, metric="loss", mode="min", seed=0), max_concurrent=N)
    rays = ConcurrencyLimiter(LeavesLimitToRay(PROBLEM.space, metric="loss", mode="min", seed=0), max_concurrent=N)
    fast = _run(SCHEDULERS[kind](), ours, slots=N).run()
    slow = _run(SCHEDULERS[kind](), rays, slots=N).run()
    assert not slow.stalled and all(t.status == TERMINATED for t in slow.trials)
    assert slow.utilization < fast.utilization


def test_the_searcher_counts_paused_trials_out_and_promoted_ones_back_in():
    search = RandomSearcher(PROBLEM.space, metric="loss", mode="min", seed=0)
    assert search.set_max_concurrency(2) is True
    assert search.suggest("a") is not None and search.suggest("b") is not None
    assert search.suggest("c") is None  # two hold places
    search.on_pause("a")
    assert search.running() == 1 and search.suggest("c") is not None
    search.on_unpause("a")
    assert search.running() == 3 and search.suggest("d") is None
    search.on_trial_complete("b", {"loss": 1.0, "training_iteration": 3})
    search.on_trial_complete("c", None)
    assert search.running() == 1 and search.suggest("d") is not None
    with pytest.raises(ValueError, match="max_concurrent"):
        search.set_max_concurrency(0)


def test_paused_places_survive_save_and_restore(tmp_path):
    search = RandomSearcher(PROBLEM.space, metric="loss", mode="min", seed=0)
    search.set_max_concurrency(2)
    search.suggest("a"), search.suggest("b")
    search.on_pause("a")
    search.save(str(tmp_path / "s.pkl"))
    back = RandomSearcher(PROBLEM.space, metric="loss", mode="min", seed=0)
    back.restore(str(tmp_path / "s.pkl"))
    assert back.max_concurrent == 2 and back.running() == 1
    assert back.suggest("c") == search.suggest("c")
