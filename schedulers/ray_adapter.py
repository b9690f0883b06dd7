"""The thin Ray Tune ``TrialScheduler`` over a pure rung core (ASHA and Hyperband share it).

What it handles, all measured on Ray 2.60 (see docs/schedulers.md):

* Ray's hooks become core events: a result is a decision, a completed, errored or
  removed trial is an ending, ``choose_trial_to_run`` hands out the trials the core
  released (before any new trial), paused trials the core stopped go through
  ``stop_trial``. Only public trial and controller methods are used.
* A stall, where nothing runs or waits to start but trials are paused (the searcher is
  finished, or a ``ConcurrencyLimiter`` counts paused trials as live and refuses new
  ones), is resolved by the core instead of hanging the run.
* Ray never saves a scheduler and calls ``on_trial_add`` again for every trial on
  ``Tuner.restore``; it also makes every unfinished trial PENDING. So the core's state
  is written atomically after every change next to the experiment, read back at the
  first re-added trial, and reconciled with what Ray restored: trials Ray finished are
  finished, trials Ray lost (the snapshot predates them) count as failed, trials the
  core had already stopped are stopped, and the replay rules of :mod:`schedulers.core`
  make sure no rung decision is taken twice.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ray.tune.experiment import Trial
from ray.tune.result import DEFAULT_METRIC
from ray.tune.schedulers.trial_scheduler import TrialScheduler

from schedulers import core as rc
from schedulers.rung import as_loss
from schedulers.state_file import FILE_NAME, read_state, write_state
from searchers.common.checks import check_mode

logger = logging.getLogger(__name__)

_DECISIONS = {rc.CONTINUE: TrialScheduler.CONTINUE, rc.PAUSE: TrialScheduler.PAUSE, rc.STOP: TrialScheduler.STOP}


class RungTrialScheduler(TrialScheduler):
    """Base of :class:`~schedulers.ASHAScheduler` and :class:`~schedulers.HyperbandScheduler`."""

    def __init__(
        self, core: rc.RungCore, *, metric: str | None, mode: str | None, resource_attr: str, state_path: str | None
    ):
        super().__init__()
        check_mode(mode)
        if metric is not None and (not isinstance(metric, str) or not metric):
            raise ValueError(f"metric must be a non-empty string, got {metric!r}")
        if not isinstance(resource_attr, str) or not resource_attr:
            raise ValueError(f"resource_attr must be a non-empty string, got {resource_attr!r}")
        if state_path is not None and (not isinstance(state_path, str) or not state_path):
            raise ValueError(f"state_path must be a file path or None, got {state_path!r}")
        self._core = core
        self._metric = metric
        self._mode = mode
        self.resource_attr = resource_attr
        self._state_path = state_path
        # Decisions are taken per result: buffered results would run past a milestone
        # before a PAUSE lands. Stopping only loses a little, so it keeps Ray's buffering.
        self._supports_buffered_results = getattr(core, "rule", None) == "stopping"
        self._path: str | None = None
        self._resolved = False
        self._restoring = False
        self._readded: set[str] = set()
        self._to_stop: list[str] = []
        self._written = -1
        self._warned_limiter = False

    # ------------------------------------------------------------------ public
    @property
    def core(self) -> rc.RungCore:
        return self._core

    @property
    def mode(self) -> str | None:
        return self._mode

    @property
    def resource_levels(self) -> list[float]:
        """Every milestone and then the maximum: where a data-size trainable should report."""
        return [*self._core.levels, self._core.max_resource]

    @property
    def state_file(self) -> str | None:
        """Where the state is persisted (known once the first trial was added)."""
        return self._path

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        check_mode(mode)
        if (metric and self._metric and metric != self._metric) or (mode and self._mode and mode != self._mode):
            return False  # Tune then reports the conflict
        self._metric = self._metric or metric
        self._mode = self._mode or mode
        if self._metric is None and self._mode:
            self._metric = DEFAULT_METRIC
        return True

    def debug_string(self) -> str:
        return self._core.describe()

    # ------------------------------------------------------------------- hooks
    def on_trial_add(self, tune_controller, trial: Trial) -> None:
        if not self._metric or not self._mode:
            raise ValueError(
                f"{type(self).__name__} needs metric and mode: pass them to the scheduler "
                f"or to tune.TuneConfig (got metric={self._metric!r}, mode={self._mode!r})"
            )
        if not self._resolved:
            self._resolve_state(trial)
        if self._restoring:
            self._readd(trial)
        elif trial.trial_id in self._core:
            self._core.revive(trial.trial_id)  # Tune retries a failed trial under its id
        else:
            self._core.add(trial.trial_id)
        self._persist()

    def on_trial_result(self, tune_controller, trial: Trial, result: dict) -> str:
        self._end_restore()
        resource = result.get(self.resource_attr)
        if resource is None or self._metric not in result:
            return TrialScheduler.CONTINUE  # nothing to decide on, as in Ray's schedulers
        if trial.trial_id not in self._core:
            self._core.add(trial.trial_id)
        decision = self._core.on_result(trial.trial_id, float(resource), self._loss(result[self._metric]))
        self._apply_stops(tune_controller)
        self._persist()
        return _DECISIONS[decision]

    def on_trial_complete(self, tune_controller, trial: Trial, result: dict) -> None:
        self._finish(tune_controller, trial, "completed", was_running=True)

    def on_trial_error(self, tune_controller, trial: Trial) -> None:
        self._finish(tune_controller, trial, "error", was_running=True)

    def on_trial_remove(self, tune_controller, trial: Trial) -> None:
        self._finish(tune_controller, trial, "removed", was_running=False)

    def choose_trial_to_run(self, tune_controller) -> Trial | None:
        """A released trial first, else a new one; idempotent (state changes only on a stall)."""
        self._end_restore()
        self._warn_if_limited(tune_controller)
        search = getattr(tune_controller, "search_alg", None)
        search_finished = search is not None and search.is_finished()
        if search_finished:
            self._core.on_search_finished()
        self._apply_stops(tune_controller)
        trials = tune_controller.get_trials()
        choice = self._choose(trials)
        if choice is None and _stalled(trials):
            self._core.on_stall(search_finished)
            self._apply_stops(tune_controller)
            choice = self._choose(tune_controller.get_trials())
        self._persist()
        return choice

    # ---------------------------------------------------------------- helpers
    def _loss(self, value: Any) -> float:
        loss = as_loss(value)
        return loss if self._mode == "min" or loss == float("inf") else -loss

    def _finish(self, tune_controller, trial: Trial, reason: str, was_running: bool) -> None:
        self._end_restore()
        self._core.finish(trial.trial_id, reason, was_running)
        self._apply_stops(tune_controller)
        self._persist()

    def _choose(self, trials: list[Trial]) -> Trial | None:
        by_id = {t.trial_id: t for t in trials}
        for trial_id in self._core.runnable():
            trial = by_id.get(trial_id)
            if trial is not None and trial.status in (Trial.PAUSED, Trial.PENDING):
                return trial
        for trial in trials:
            if trial.status == Trial.PENDING and (
                trial.trial_id not in self._core or self._core.trial(trial.trial_id).status in (rc.RUNNING, rc.PROMOTED)
            ):
                return trial
        return None

    def _apply_stops(self, tune_controller) -> None:
        stops = self._to_stop + self._core.take_stops()
        self._to_stop = []
        if not stops:
            return
        by_id = {t.trial_id: t for t in tune_controller.get_trials()}
        for trial_id in stops:
            trial = by_id.get(trial_id)
            # A trial that is still saving for its PAUSE is RUNNING: Ray's stop_trial handles it.
            if trial is not None and (
                trial.status in (Trial.PAUSED, Trial.PENDING) or (trial.status == Trial.RUNNING and trial.is_saving)
            ):
                tune_controller.stop_trial(trial)

    def _warn_if_limited(self, tune_controller) -> None:
        if self._warned_limiter or getattr(self._core, "rule", None) == "stopping":
            return
        from ray.tune.search import ConcurrencyLimiter

        searcher = getattr(tune_controller, "search_alg", None)
        while searcher is not None:
            if isinstance(searcher, ConcurrencyLimiter):
                self._warned_limiter = True
                logger.warning(
                    "%s pauses trials, and max_concurrent_trials (a ConcurrencyLimiter) counts paused "
                    "trials as running: new trials will be held back. Limit concurrency through trial "
                    "resources instead (see docs/schedulers.md).",
                    type(self).__name__,
                )
                return
            searcher = getattr(searcher, "searcher", None)

    # ------------------------------------------------------------- persistence
    def _resolve_state(self, trial: Trial) -> None:
        """Pick the state file at the first trial; load it if this is a restored run."""
        self._resolved = True
        self._path = self._state_path or _default_state_path(trial)
        if self._path is None or not os.path.exists(self._path):
            return
        state = read_state(self._path)
        if trial.trial_id not in {t["trial_id"] for t in state["core"]["trials"]}:
            return  # a new experiment in a reused directory: start afresh
        if state["scheduler"] != type(self).__name__:
            raise ValueError(f"{self._path} holds {state['scheduler']} state, not {type(self).__name__}")
        self._core.load(state["core"])
        self._restoring = True

    def _readd(self, trial: Trial) -> None:
        trial_id = trial.trial_id
        self._readded.add(trial_id)
        finished = trial.status in (Trial.TERMINATED, Trial.ERROR)
        reason = "error" if trial.status == Trial.ERROR else "completed"
        if trial_id not in self._core:
            self._core.add(trial_id)
            if finished:
                self._core.finish(trial_id, reason, was_running=False)
        elif finished:
            self._core.finish(trial_id, reason, was_running=False)
        elif self._core.trial(trial_id).status == rc.DONE:
            self._to_stop.append(trial_id)  # Ray's snapshot predates our STOP: stop it again

    def _end_restore(self) -> None:
        """The first hook after the re-adds: trials Ray did not bring back were lost."""
        if not self._restoring:
            return
        self._restoring = False
        for t in self._core.trials():
            if t.trial_id not in self._readded and t.status != rc.DONE:
                self._core.finish(t.trial_id, "lost", was_running=False)
        self._readded.clear()

    def _persist(self) -> None:
        if self._path is None or self._core.version == self._written:
            return
        write_state(
            self._path,
            {
                "scheduler": type(self).__name__,
                "metric": self._metric,
                "mode": self._mode,
                "resource_attr": self.resource_attr,
                "core": self._core.to_dict(),
            },
        )
        self._written = self._core.version


def _stalled(trials: list[Trial]) -> bool:
    statuses = {t.status for t in trials}
    return Trial.PAUSED in statuses and not statuses & {Trial.RUNNING, Trial.PENDING}


def _default_state_path(trial: Trial) -> str | None:
    """Ray's driver staging directory of the experiment: Ray uploads it to the experiment's
    storage (local or cloud) with every experiment snapshot and downloads it before
    re-adding trials on restore, so the state travels with Ray's own snapshot. (A file
    written straight into a local experiment directory would be overwritten by the older
    staged copy at the next upload.)"""
    staging = getattr(trial, "local_experiment_path", None)
    return os.path.join(staging, FILE_NAME) if staging else None
