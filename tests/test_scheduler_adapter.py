"""The Ray adapter driven by an emulated controller (benchmarks/sched_sim.py; no Ray runtime).

Max mode, idempotent choice, a ConcurrencyLimiter stall, the state file, and restore:
an interrupted run restored into a fresh scheduler (as ``Tuner.restore`` does) ends with
the same rung records and the same fate for every trial as an uninterrupted run.
"""

import logging
import os

import pytest
from ray.tune.search import ConcurrencyLimiter

from benchmarks.mf_functions import MF_PROBLEMS
from benchmarks.sched_sim import PAUSED, TERMINATED, SimController
from schedulers import ASHAScheduler, HyperbandScheduler
from schedulers.state_file import FILE_NAME, JOURNAL_SUFFIX, load_state
from searchers.random_search import RandomSearcher

PROBLEM = MF_PROBLEMS["hartmann6"]  # max resource 27: milestones 1, 3, 9

SCHEDULERS = {
    "stopping": lambda: ASHAScheduler(max_resource=27, rule="stopping", brackets=2, seed=1),
    "promotion": lambda: ASHAScheduler(max_resource=27, rule="promotion", brackets=2, seed=1),
    "sync": lambda: HyperbandScheduler(max_resource=27, brackets=2),
}


class Negated:
    """The same objective reported as a score to maximise."""

    def __init__(self, problem):
        self.problem = problem

    def value(self, config, resource, seed):
        return -self.problem.value(config, resource, seed)

    def epoch_time(self, config):
        return self.problem.epoch_time(config)


class LeavesLimitToRay(RandomSearcher):
    """A searcher that does not enforce max_concurrent_trials itself, like Ray's OptunaSearch."""

    def set_max_concurrency(self, max_concurrent):
        return False


def searcher(seed=0, mode="min"):
    return RandomSearcher(PROBLEM.space, metric="loss" if mode == "min" else "score", mode=mode, seed=seed)


def sim(scheduler, *, mode="min", slots=3, max_trials=60, search=None, **kw):
    objective = PROBLEM if mode == "min" else Negated(PROBLEM)
    return SimController(
        search or searcher(mode=mode),
        scheduler,
        objective,
        metric="loss" if mode == "min" else "score",
        mode=mode,
        max_t=27,
        slots=slots,
        max_trials=max_trials,
        **kw,
    )


@pytest.mark.parametrize("kind", sorted(SCHEDULERS))
def test_max_mode_takes_the_decisions_of_min_mode_on_the_negated_metric(kind):
    lo = sim(SCHEDULERS[kind]()).run()
    hi = sim(SCHEDULERS[kind](), mode="max").run()
    assert hi.decisions == lo.decisions
    assert {d for _, _, d in lo.decisions} >= {"CONTINUE", "STOP"}


def test_choose_trial_to_run_is_idempotent():
    scheduler = SCHEDULERS["promotion"]()
    run = sim(scheduler, slots=2)
    run.run(until_epochs=60)
    version = scheduler.core.version
    first = scheduler.choose_trial_to_run(run)
    assert scheduler.choose_trial_to_run(run) is first
    assert scheduler.core.version == version


@pytest.mark.parametrize("kind", ["promotion", "sync"])
def test_a_concurrency_limiter_that_counts_paused_trials_does_not_hang_the_run(kind, caplog):
    # max_concurrent_trials=2 wraps the searcher: with a searcher that leaves the limit to
    # Ray's limiter (as Ray's own searchers do), paused trials hold the 2 places, so no
    # new trial comes; the scheduler must notice the stall and make room.
    limited = ConcurrencyLimiter(LeavesLimitToRay(PROBLEM.space, metric="loss", mode="min"), max_concurrent=2)
    with caplog.at_level(logging.WARNING, logger="schedulers.ray_adapter"):
        result = sim(SCHEDULERS[kind](), slots=2, max_trials=20, search=limited).run()
    assert not result.stalled
    assert len(result.trials) == 20 and all(t.status == TERMINATED for t in result.trials)
    assert "counts paused trials as running" in caplog.text


def test_state_is_written_next_to_the_experiment_and_read_back(tmp_path):
    scheduler = SCHEDULERS["sync"]()
    result = sim(scheduler, max_trials=30, experiment_dir=str(tmp_path)).run()
    path = tmp_path / FILE_NAME
    assert scheduler.state_file == str(path)
    saved = load_state(str(path))
    assert saved["scheduler"] == "HyperbandScheduler" and saved["mode"] == "min"
    assert saved["core"] == scheduler.core.to_dict()
    assert len(saved["core"]["trials"]) == len(result.trials) == 30
    # snapshot + journal, no temporary files left behind
    assert sorted(os.listdir(tmp_path)) == [FILE_NAME, FILE_NAME + JOURNAL_SUFFIX]


def _outcome(scheduler):
    """Per trial: why it ended, and what it recorded at which milestone."""
    state = scheduler.core.to_dict()
    records = {t["trial_id"]: [] for t in state["trials"]}
    for bracket in state.get("brackets", []) + [b["rungs"] for b in state.get("instances", [])]:
        for rung in bracket:
            for loss, _, tid in rung["records"]:
                records[tid].append((rung["level"], loss, tid in rung["promoted"]))
    return {t["trial_id"]: (t["reason"], sorted(records[t["trial_id"]])) for t in state["trials"]}


@pytest.mark.parametrize(
    "kind, slots, cut",
    [("sync", 3, 150), ("sync", 2, 41), ("promotion", 1, 120), ("promotion", 1, 33), ("stopping", 1, 90)],
)
def test_a_restored_run_takes_the_same_decisions_as_an_uninterrupted_one(tmp_path, kind, slots, cut):
    straight = SCHEDULERS[kind]()
    sim(straight, slots=slots, experiment_dir=str(tmp_path / "straight")).run()

    first = SCHEDULERS[kind]()
    search = searcher()
    interrupted = sim(first, slots=slots, search=search, experiment_dir=str(tmp_path / "restored"))
    interrupted.run(until_epochs=cut)
    assert any(t.status == PAUSED for t in interrupted.trials) or kind == "stopping"
    search.save(str(tmp_path / "searcher.pkl"))  # what Ray's experiment snapshot holds
    snapshot = interrupted.snapshot()

    resumed_search = searcher()
    resumed_search.restore(str(tmp_path / "searcher.pkl"))
    second = SCHEDULERS[kind]()  # Ray unpickles the scheduler fresh from tuner.pkl
    result = SimController.restored(snapshot, interrupted, resumed_search, second).run()

    assert not result.stalled
    assert _outcome(second) == _outcome(straight)


def test_a_restore_from_a_stale_snapshot_loses_no_decision_and_finishes(tmp_path):
    # SIGKILL: Ray's snapshot (every >= 10 s) predates the scheduler's own state file.
    first = SCHEDULERS["promotion"]()
    search = searcher()
    run = sim(first, slots=3, search=search, experiment_dir=str(tmp_path))
    run.run(until_epochs=100)
    search.save(str(tmp_path / "searcher.pkl"))
    stale = run.snapshot()
    run.run(until_epochs=160)  # the scheduler file moves on; the snapshot does not
    stopped_since = {t.trial_id for t in run.trials if t.status == TERMINATED} - {
        s["trial_id"] for s in stale if s["status"] == TERMINATED
    }
    lost = {t.trial_id for t in run.trials} - {s["trial_id"] for s in stale}
    assert stopped_since and lost

    resumed_search = searcher()
    resumed_search.restore(str(tmp_path / "searcher.pkl"))
    second = SCHEDULERS["promotion"]()
    result = SimController.restored(stale, run, resumed_search, second).run()

    assert not result.stalled
    core = second.core
    assert all(core.trial(tid).reason == "lost" for tid in lost)
    for tid in stopped_since:  # decided after the snapshot: replayed, not taken again
        ray_trial = next(t for t in result.trials if t.trial_id == tid)
        assert ray_trial.status == TERMINATED
        assert core.trial(tid).reason == run.scheduler.core.trial(tid).reason


def test_the_state_file_is_written_atomically_without_a_temporary_file_beside_it(tmp_path):
    # Ray uploads the directory that holds the state file while the scheduler writes it;
    # a temporary file there, renamed before Ray copies it, made that upload fail.
    from schedulers.state_file import read_state, write_state

    staging = tmp_path / "driver_artifacts"
    path = staging / "mftune-scheduler-state.json"
    for version in range(3):
        write_state(str(path), {"version": version})
        assert [p.name for p in staging.iterdir()] == ["mftune-scheduler-state.json"]
    assert read_state(str(path))["version"] == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".mftune-state-")]  # no leftovers


class Waiting:
    """A controller holding new trials PENDING (Tune requests an actor for each): only what
    ``choose_trial_to_run`` reads."""

    search_alg = None

    def __init__(self, trials):
        self.trials = trials

    def get_live_trials(self):
        return [t for t in self.trials if t.status != TERMINATED]


def test_the_newest_new_trial_goes_first_until_an_older_one_has_waited_too_long(monkeypatch):
    # With reuse_actors, Tune gives the chosen trial a just-paused trial's actor and cancels
    # the one it was starting for it: the newest's start has barely begun (docs/benchmarks.md).
    from benchmarks.sched_sim import SimTrial
    from schedulers import ray_adapter

    clock = [100.0]
    monkeypatch.setattr(ray_adapter.time, "monotonic", lambda: clock[0])
    scheduler = SCHEDULERS["promotion"]()
    scheduler.set_search_properties("loss", "min")
    trials = [SimTrial(f"t{i}", {}) for i in range(3)]
    ctl = Waiting(trials)
    for i, trial in enumerate(trials):
        clock[0] = 100.0 + i
        scheduler.on_trial_add(ctl, trial)
    assert scheduler.choose_trial_to_run(ctl) is trials[2]
    clock[0] = 100.0 + ray_adapter.FRESH_WAIT_S  # t0 has waited the bound; t1 not yet
    assert scheduler.choose_trial_to_run(ctl) is trials[0]
    clock[0] += 1.0
    assert scheduler.choose_trial_to_run(ctl) is trials[0]  # the oldest overdue, not t1
    trials[0].status = "RUNNING"
    assert scheduler.choose_trial_to_run(ctl) is trials[1]
