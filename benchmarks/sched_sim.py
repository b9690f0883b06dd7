"""Ray Tune's trial loop, emulated on a simulated clock: any scheduler, any searcher, no Ray.

Ray's schedulers and searchers are plain Python objects; only the controller needs a
running Ray. :class:`SimController` plays the controller with the parts of its
contract that schedulers see (measured on Ray 2.60, see
../shared/reference/ray-tune-2.60.md sections 1-2):

* one PENDING trial is kept ready (a custom searcher without a ``ConcurrencyLimiter``
  gets one pending trial at a time); ``on_trial_add`` when a trial is created;
* a free slot goes to ``choose_trial_to_run``'s trial, else to the oldest PENDING one;
* CONTINUE trains the next epoch; PAUSE saves (the trial is RUNNING and ``is_saving``
  for ``pause_cost``), then frees the slot; a resumed trial restores from its last
  epoch (``resume_cost``); STOP and a trial finishing at ``max_t`` call
  ``on_trial_complete``; ``stop_trial`` of a PAUSED or PENDING trial calls
  ``on_trial_remove``; the searcher gets ``on_trial_result`` unless the decision is
  STOP, and ``on_trial_complete`` with the last result (None for non-running trials);
* a failing epoch calls ``on_trial_error`` and ``on_trial_complete(error=True)``.

Time is in units of the objective's ``epoch_time``; the clock is exact, so wall-time
curves and slot utilization are reproducible. A real Ray adds per-report and per-trial
overheads (benchmarks/sched_digits.py measures the real thing).

It also emulates an interruption and ``Tuner.restore``: :meth:`SimController.snapshot`
and :meth:`SimController.restored` (unfinished trials come back PENDING at their last
reported epoch, every trial is re-added to a *fresh* scheduler, as Ray does).
"""

from __future__ import annotations

import heapq
import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

PENDING, RUNNING, PAUSED, TERMINATED, ERROR = "PENDING", "RUNNING", "PAUSED", "TERMINATED", "ERROR"
_FINISHED = "FINISHED"  # ray.tune.search.Searcher.FINISHED


class Objective(Protocol):
    def value(self, config: dict[str, Any], resource: float, seed: int) -> float: ...

    def epoch_time(self, config: dict[str, Any]) -> float: ...


@dataclass(eq=False)
class SimTrial:
    """What a scheduler reads from a Ray ``Trial``: id, status, last result, saving."""

    trial_id: str
    config: dict[str, Any]
    local_experiment_path: str | None = None  # Ray's driver staging directory
    status: str = PENDING
    resource: int = 0  # epochs done; every report carries a checkpoint, so also the restore point
    last_result: dict[str, Any] = field(default_factory=dict)
    is_saving: bool = False
    token: int = 0  # invalidates scheduled events when the trial is stopped or paused


@dataclass
class Report:
    time: float
    epochs: int  # epochs spent by everyone so far, this one included
    trial_id: str
    resource: int
    value: float


@dataclass
class SimRun:
    reports: list[Report]
    decisions: list[tuple[str, int, str]]  # (trial, resource, decision) in order
    trials: list[SimTrial]
    time: float
    epochs: int
    busy: float  # slot time spent training
    slots: int
    stalled: bool  # ended with trials that could never run again (Ray would hang)

    @property
    def utilization(self) -> float:
        return self.busy / (self.slots * self.time) if self.time > 0 else 0.0


class SimController:
    def __init__(
        self,
        searcher: Any,
        scheduler: Any,
        objective: Objective,
        *,
        metric: str,
        mode: str,
        max_t: int,
        slots: int,
        budget: int | None = None,
        max_trials: int | None = None,
        seed: int = 0,
        start_cost: float = 0.0,
        pause_cost: float = 0.0,
        resume_cost: float = 0.0,
        fails: Callable[[dict[str, Any], int], bool] | None = None,
        experiment_dir: str | None = None,
    ):
        if slots < 1:
            raise ValueError(f"slots must be >= 1, got {slots!r}")
        if budget is None and max_trials is None:
            raise ValueError("give budget (epochs) or max_trials, or the run never ends")
        self.searcher, self.scheduler, self.objective = searcher, scheduler, objective
        self.metric, self.mode, self.max_t, self.slots = metric, mode, max_t, slots
        self.budget, self.max_trials, self.seed = budget, max_trials, seed
        self.start_cost, self.pause_cost, self.resume_cost = start_cost, pause_cost, resume_cost
        self.fails = fails
        self.experiment_dir = experiment_dir
        if experiment_dir is not None:
            os.makedirs(experiment_dir, exist_ok=True)  # Ray creates it when the Tuner is built
        self.trials: list[SimTrial] = []
        self.reports: list[Report] = []
        self.decisions: list[tuple[str, int, str]] = []
        self.now = 0.0
        self.epochs = 0
        self.busy = 0.0
        self._running = 0
        self._events: list[tuple[float, int, str, SimTrial, int]] = []
        self._pending: dict[str, SimTrial] = {}  # PENDING trials in creation order (no scan per step)
        self._live: dict[str, SimTrial] = {}
        self._seq = itertools.count()
        self._search_finished = False
        self._exhausted = False
        self._started = False

    # ------------------------------------------------- the controller API schedulers see
    @property
    def search_alg(self) -> SimController:
        return self

    def is_finished(self) -> bool:
        return self._search_finished

    def get_trials(self) -> list[SimTrial]:
        return self.trials

    def get_live_trials(self) -> set[SimTrial]:
        return set(self._live.values())

    def stop_trial(self, trial: SimTrial) -> None:
        if trial.status in (TERMINATED, ERROR):
            return
        self._pending.pop(trial.trial_id, None)
        self._live.pop(trial.trial_id, None)
        if trial.status in (PENDING, PAUSED):
            self.scheduler.on_trial_remove(self, trial)
            self.searcher.on_trial_complete(trial.trial_id)
        else:
            self.scheduler.on_trial_complete(self, trial, trial.last_result)
            self.searcher.on_trial_complete(trial.trial_id, result=trial.last_result)
            self._release(trial)
        trial.status = TERMINATED

    # -------------------------------------------------------------------- the loop
    def run(self, until_epochs: int | None = None) -> SimRun:
        """Run to the end (budget, trials, or nothing left to run), or until ``until_epochs``."""
        if not self._started:
            self._started = True
            self.scheduler.set_search_properties(self.metric, self.mode)
            self.searcher.set_search_properties(self.metric, self.mode, {})
        self._fill()
        while self._events and not self._exhausted:
            if until_epochs is not None and self.epochs >= until_epochs:
                break
            time, _, kind, trial, token = heapq.heappop(self._events)
            if token != trial.token:
                continue  # the trial was stopped meanwhile
            self.now = time
            if kind == "epoch":
                self._epoch(trial)
            else:
                self._saved(trial)
            self._fill()
        live = [t for t in self.trials if t.status in (PAUSED, PENDING, RUNNING)]
        stalled = not self._exhausted and not self._events and bool(live) and until_epochs is None
        return SimRun(self.reports, self.decisions, self.trials, self.now, self.epochs, self.busy, self.slots, stalled)

    def _fill(self) -> None:
        self._replenish()
        while self._running < self.slots and not self._exhausted:
            trial = self.scheduler.choose_trial_to_run(self)
            if trial is None:
                self._replenish()  # Ray asks the searcher again at every step
                trial = next(iter(self._pending.values()), None)
            if trial is None:
                return
            self._start(trial)
            self._replenish()

    def _replenish(self) -> None:
        while not self._search_finished and not self._exhausted and not self._pending:
            if self.max_trials is not None and len(self.trials) >= self.max_trials:
                self._search_finished = True
                return
            trial_id = f"{len(self.trials):05d}"
            config = self.searcher.suggest(trial_id)
            if config is None:
                return  # the searcher declines for now (e.g. a ConcurrencyLimiter)
            if config == _FINISHED:
                self._search_finished = True
                return
            trial = SimTrial(trial_id, config, self.experiment_dir)
            self.trials.append(trial)
            self._pending[trial_id] = self._live[trial_id] = trial
            self.scheduler.on_trial_add(self, trial)
            if self.max_trials is not None and len(self.trials) >= self.max_trials:
                self._search_finished = True

    def _start(self, trial: SimTrial) -> None:
        delay = self.resume_cost if trial.resource > 0 else self.start_cost
        self._pending.pop(trial.trial_id, None)
        trial.status = RUNNING
        self._running += 1
        self._schedule(trial, delay + self.objective.epoch_time(trial.config), "epoch")

    def _schedule(self, trial: SimTrial, after: float, kind: str) -> None:
        heapq.heappush(self._events, (self.now + after, next(self._seq), kind, trial, trial.token))

    def _release(self, trial: SimTrial) -> None:
        trial.token += 1
        trial.is_saving = False
        self._running -= 1

    def _epoch(self, trial: SimTrial) -> None:
        r = trial.resource + 1
        self.busy += self.objective.epoch_time(trial.config)
        self.epochs += 1
        if self.fails is not None and self.fails(trial.config, r):
            self.scheduler.on_trial_error(self, trial)
            self.searcher.on_trial_complete(trial.trial_id, error=True)
            self._release(trial)
            self._live.pop(trial.trial_id, None)
            trial.status = ERROR
            self._check_budget()
            return
        trial.resource = r
        value = self.objective.value(trial.config, r, self.seed)
        result = {
            self.metric: value,
            "training_iteration": r,
            "epoch": r,
            "trial_id": trial.trial_id,
            "time_total_s": self.now,
        }
        trial.last_result = result
        self.reports.append(Report(self.now, self.epochs, trial.trial_id, r, value))
        decision = self.scheduler.on_trial_result(self, trial, result)
        self.decisions.append((trial.trial_id, r, decision))
        if decision != "STOP":
            self.searcher.on_trial_result(trial.trial_id, result)
        if decision == "CONTINUE" and r >= self.max_t:
            decision = "STOP"  # the trainable returns after its last epoch: Ray completes the trial
        if decision == "CONTINUE":
            self._schedule(trial, self.objective.epoch_time(trial.config), "epoch")
        elif decision == "PAUSE":
            trial.is_saving = True
            self._schedule(trial, self.pause_cost, "saved")
        elif decision == "STOP":
            self.stop_trial(trial)
        else:
            raise ValueError(f"scheduler returned {decision!r}")
        self._check_budget()

    def _check_budget(self) -> None:
        if self.budget is not None and self.epochs >= self.budget:
            self._exhausted = True  # like a Stopper's stop_all(): the experiment ends here

    def _saved(self, trial: SimTrial) -> None:
        self._release(trial)
        trial.status = PAUSED

    # ------------------------------------------------------- interruption and restore
    def snapshot(self) -> list[dict[str, Any]]:
        """What Ray's experiment snapshot holds per trial, taken between two events."""
        return [
            {
                "trial_id": t.trial_id,
                "config": t.config,
                "status": t.status,
                "resource": t.resource,
                "last_result": dict(t.last_result),
            }
            for t in self.trials
        ]

    @classmethod
    def restored(
        cls, snapshot: list[dict[str, Any]], previous: SimController, searcher: Any, scheduler: Any
    ) -> SimController:
        """Like ``Tuner.restore``: the same settings, a restored searcher, a fresh scheduler."""
        sim = cls(
            searcher,
            scheduler,
            previous.objective,
            metric=previous.metric,
            mode=previous.mode,
            max_t=previous.max_t,
            slots=previous.slots,
            budget=previous.budget,
            max_trials=previous.max_trials,
            seed=previous.seed,
            start_cost=previous.start_cost,
            pause_cost=previous.pause_cost,
            resume_cost=previous.resume_cost,
            fails=previous.fails,
            experiment_dir=previous.experiment_dir,
        )
        sim.now, sim.epochs, sim.busy = previous.now, previous.epochs, previous.busy
        sim.reports, sim.decisions = list(previous.reports), list(previous.decisions)
        # tune.run always calls the scheduler's set_search_properties, the searcher's only
        # when the Tuner is given a param_space (not the case here).
        sim._started = True
        scheduler.set_search_properties(previous.metric, previous.mode)
        for saved in snapshot:
            status = saved["status"]
            trial = SimTrial(
                saved["trial_id"],
                saved["config"],
                sim.experiment_dir,
                status=status if status in (TERMINATED, ERROR) else PENDING,
                resource=saved["resource"],
                last_result=saved["last_result"],
            )
            sim.trials.append(trial)
            if trial.status == PENDING:
                sim._pending[trial.trial_id] = sim._live[trial.trial_id] = trial
            scheduler.on_trial_add(sim, trial)
        sim._search_finished = previous._search_finished
        return sim
