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
  ``Tuner.restore``; it also makes every unfinished trial PENDING. So every event that
  changes the core is journaled next to the experiment (snapshot + append-only journal,
  :mod:`schedulers.state_file`: a constant cost per result), read back at the first
  re-added trial, and reconciled with what Ray restored: trials Ray finished are
  finished, trials Ray lost (the snapshot predates them) count as failed, trials the
  core had already stopped are stopped, and the replay rules of :mod:`schedulers.core`
  make sure no rung decision is taken twice.
* Of the new trials waiting to start, the newest is handed out first (see
  :meth:`RungTrialScheduler._choose`): with ``reuse_actors``, Tune gives the chosen trial
  the actor a trial just paused and cancels the actor it was starting for that trial.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ray.tune.experiment import Trial
from ray.tune.result import DEFAULT_METRIC
from ray.tune.schedulers.trial_scheduler import TrialScheduler

from schedulers import core as rc
from schedulers.rung import as_loss
from schedulers.state_file import FILE_NAME, StateStore, load_state
from searchers.common.checks import check_mode

if TYPE_CHECKING:
    from ray.tune.execution.tune_controller import TuneController

logger = logging.getLogger(__name__)

#: a new trial that has waited this long for its own actor is handed out first (see _choose)
FRESH_WAIT_S = 20.0

_DECISIONS = {rc.CONTINUE: TrialScheduler.CONTINUE, rc.PAUSE: TrialScheduler.PAUSE, rc.STOP: TrialScheduler.STOP}


class RungTrialScheduler(TrialScheduler):
    """Base of :class:`~schedulers.ASHAScheduler` and :class:`~schedulers.HyperbandScheduler`."""

    # The journal is compacted once it outgrows the snapshot and this many bytes.
    journal_min_bytes = 64 * 1024

    def __init__(
        self, core: rc.RungCore, *, metric: str | None, mode: str | None, resource_attr: str, state_path: str | None
    ):
        super().__init__()  # type: ignore[no-untyped-call]  # Ray's TrialScheduler.__init__ is unannotated
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
        self._store: StateStore | None = None
        self._events: list[list[Any]] = []  # core events since the last journal append
        # Ray's Trial objects by id (dropped when Ray ends them), and the added trials that
        # may be waiting for their first start with their order of addition: so choosing a
        # trial costs the same at the 50,000th trial as at the first (no scan of all trials).
        self._known: dict[str, Trial] = {}
        self._order: dict[str, int] = {}
        self._fresh: dict[str, tuple[Trial, float]] = {}  # with time.monotonic() at its addition
        self._unpaused: set[str] = set()  # promoted trials the searcher was told about
        self._warned_limiter = False
        #: draw brackets by the searcher's level weights (HyperbandScheduler(learn_brackets=True))
        self.learn_brackets = False
        self._warned_weights = False

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
    def on_trial_add(self, tune_controller: TuneController, trial: Trial) -> None:
        if not self._metric or not self._mode:
            raise ValueError(
                f"{type(self).__name__} needs metric and mode: pass them to the scheduler "
                f"or to tune.TuneConfig (got metric={self._metric!r}, mode={self._mode!r})"
            )
        if not self._resolved:
            self._resolve_state(trial)
        self._known[trial.trial_id] = trial
        self._order.setdefault(trial.trial_id, len(self._order))
        self._fresh[trial.trial_id] = (trial, time.monotonic())
        if self._restoring:
            self._readd(trial)
        elif trial.trial_id in self._core:
            self._event("revive", trial.trial_id)  # Tune retries a failed trial under its id
        else:
            if self.learn_brackets:
                self._update_level_weights(tune_controller)
            self._event("add", trial.trial_id)
        self._persist()

    def on_trial_result(self, tune_controller: TuneController, trial: Trial, result: dict[str, Any]) -> str:
        self._end_restore()
        self._fresh.pop(trial.trial_id, None)
        resource = result.get(self.resource_attr)
        value = self._result_value(result)
        if resource is None or value is None:
            return TrialScheduler.CONTINUE  # nothing to decide on, as in Ray's schedulers
        if trial.trial_id not in self._core:
            self._event("add", trial.trial_id)
        decision = self._event("on_result", trial.trial_id, float(resource), value)
        self._apply_stops(tune_controller)
        self._persist()
        if decision == rc.PAUSE:
            self._tell_searcher(tune_controller, "on_pause", trial.trial_id)
        self._tell_promotions(tune_controller)
        return _DECISIONS[decision]

    def on_trial_complete(self, tune_controller: TuneController, trial: Trial, result: dict[str, Any]) -> None:
        self._finish(tune_controller, trial, "completed", was_running=True)

    def on_trial_error(self, tune_controller: TuneController, trial: Trial) -> None:
        self._finish(tune_controller, trial, "error", was_running=True)

    def on_trial_remove(self, tune_controller: TuneController, trial: Trial) -> None:
        self._finish(tune_controller, trial, "removed", was_running=False)

    def choose_trial_to_run(self, tune_controller: TuneController) -> Trial | None:
        """A released trial first, else a new one; idempotent (state changes only on a stall)."""
        self._end_restore()
        self._warn_if_limited(tune_controller)
        search = getattr(tune_controller, "search_alg", None)
        search_finished = search is not None and search.is_finished()
        if search_finished:
            self._event("on_search_finished")
        self._apply_stops(tune_controller)
        limit = self._concurrency_limit(tune_controller)
        choice = self._choose(tune_controller, limit)
        if choice is None and _stalled(tune_controller.get_live_trials()):  # type: ignore[no-untyped-call]  # Ray's TuneController is unannotated
            self._event("on_stall", search_finished)
            self._apply_stops(tune_controller)
            choice = self._choose(tune_controller, limit)
        self._persist()
        self._tell_promotions(tune_controller)
        return choice

    # ---------------------------------------------------------------- helpers
    def _result_value(self, result: dict[str, Any]) -> Any:
        """What the core decides on (the loss; a multi-objective scheduler: a vector), or
        None when the result does not report the metric."""
        return self._loss(result[self._metric]) if self._metric in result else None

    def _loss(self, value: Any) -> float:
        loss = as_loss(value)
        return loss if self._mode == "min" or loss == float("inf") else -loss

    def _finish(self, tune_controller: TuneController, trial: Trial, reason: str, was_running: bool) -> None:
        self._end_restore()
        self._known.pop(trial.trial_id, None)
        self._fresh.pop(trial.trial_id, None)
        self._event("finish", trial.trial_id, reason, was_running)
        self._apply_stops(tune_controller)
        self._persist()
        self._unpaused.discard(trial.trial_id)
        self._tell_promotions(tune_controller)

    def _choose(self, tune_controller: TuneController, limit: int | None = None) -> Trial | None:
        """A trial the core released, else a new trial: the newest one, unless one has
        waited ``FRESH_WAIT_S`` for its actor (then the oldest such).

        Why the newest (measured on Ray 2.60, benchmarks/concurrency.py at 0.5 s epochs):
        Tune requests an actor for every pending trial, and with ``reuse_actors`` it gives
        the trial we choose the actor of a trial that just paused and cancels the actor it
        was starting for it. Choosing the oldest cancelled the start closest to finishing,
        every time: where an actor takes longer to start than an epoch lasts, only the 2-3
        actors up before the first pause ever ran (of 23-30 requested), and 3 places held
        1-2 running trials. The newest's start has barely begun; the others' finish. The
        wait bound keeps a trial whose actor cannot start (no free resources) from being
        passed over for the whole run. Which new trial starts first changes no decision
        of the core, only the order results arrive in.
        """
        runnable = self._core.runnable()
        if runnable and limit is not None and _running(tune_controller) >= limit:
            runnable = []  # max_concurrent_trials: a promoted trial waits for a place
        for trial_id in runnable:
            trial = self._known.get(trial_id)
            if trial is not None and trial.status in (Trial.PAUSED, Trial.PENDING):
                return trial
        now = time.monotonic()
        newest = overdue = None
        for trial_id, (trial, added) in list(self._fresh.items()):
            status = self._core.trial(trial_id).status if trial_id in self._core else None
            if status in (rc.PAUSED, rc.DONE):
                del self._fresh[trial_id]  # it runs again only through runnable(), or never
            elif trial.status == Trial.PENDING:
                if now - added >= FRESH_WAIT_S:
                    if overdue is None or self._order[trial_id] < self._order[overdue.trial_id]:
                        overdue = trial
                elif newest is None or self._order[trial_id] > self._order[newest.trial_id]:
                    newest = trial
        return overdue or newest

    def _apply_stops(self, tune_controller: TuneController) -> None:
        taken = self._event("take_stops")
        stops = self._to_stop + taken
        self._to_stop = []
        for trial_id in stops:
            trial = self._known.get(trial_id)
            # A trial that is still saving for its PAUSE is RUNNING: Ray's stop_trial handles it.
            if trial is not None and (
                trial.status in (Trial.PAUSED, Trial.PENDING) or (trial.status == Trial.RUNNING and trial.is_saving)
            ):
                tune_controller.stop_trial(trial)  # type: ignore[no-untyped-call]  # Ray's TuneController is unannotated

    def _warn_if_limited(self, tune_controller: TuneController) -> None:
        """Warn once if a ConcurrencyLimiter counts paused trials (a searcher that does not
        enforce the limit itself, such as Ray's OptunaSearch or HyperOptSearch)."""
        if self._warned_limiter or getattr(self._core, "rule", None) == "stopping":
            return
        from ray.tune.search import ConcurrencyLimiter

        for searcher in _searcher_chain(tune_controller):
            # Ray sets _limit_concurrency False when the wrapped searcher's set_max_concurrency
            # returned True: mftune's searchers (and TuneBOHB) count running trials only.
            if isinstance(searcher, ConcurrencyLimiter) and getattr(searcher, "_limit_concurrency", True):
                self._warned_limiter = True
                logger.warning(
                    "%s pauses trials, and max_concurrent_trials (a ConcurrencyLimiter around %s) counts "
                    "paused trials as running: new trials will be held back. mftune's searchers count "
                    "running trials only; see docs/schedulers.md.",
                    type(self).__name__,
                    type(searcher.searcher).__name__,
                )
                return

    # ------------------------------------------------- the searcher's concurrency
    def _tell_searcher(self, tune_controller: TuneController, method: str, trial_id: str) -> None:
        """``on_pause``/``on_unpause`` to the innermost searcher that has them (as Ray's
        HyperBandForBOHB does), so one that enforces max_concurrent_trials itself counts
        only the trials that hold a place."""
        chain = _searcher_chain(tune_controller)
        inner = chain[-1] if chain else None
        hook = getattr(inner, method, None)
        if hook is not None:
            hook(trial_id)

    def _tell_promotions(self, tune_controller: TuneController) -> None:
        """A promoted trial holds a place from its promotion on (it runs as soon as one frees)."""
        for trial_id in self._core.runnable():
            if trial_id not in self._unpaused:
                self._unpaused.add(trial_id)
                self._tell_searcher(tune_controller, "on_unpause", trial_id)
        if len(self._unpaused) > len(self._core.runnable()):
            self._unpaused &= set(self._core.runnable())

    def _concurrency_limit(self, tune_controller: TuneController) -> int | None:
        """``max_concurrent_trials`` as the searcher chain knows it (None: no limit)."""
        for searcher in _searcher_chain(tune_controller):
            limit = getattr(searcher, "max_concurrent", None)
            if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
                return limit
        return None

    def _update_level_weights(self, tune_controller: TuneController) -> None:
        """Hand the searcher's current level weights to the core before it draws a bracket.

        The searcher is found under Tune's search algorithm (not held here: the scheduler is
        pickled with the Tuner, the searcher restored on its own), and the weights go in as a
        journaled event, so a restored core draws the same brackets.
        """
        source = next(
            (s for s in _searcher_chain(tune_controller) if callable(getattr(s, "level_weights", None))), None
        )
        if source is None:
            if not self._warned_weights:
                logger.warning(
                    "%s(learn_brackets=True): the searcher reports no level weights (MFGPSearcher(model='hypertune') "
                    "does); brackets are drawn with Hyperband's probabilities",
                    type(self).__name__,
                )
                self._warned_weights = True
            return
        weights = sorted((float(level), float(w)) for level, w in dict(source.level_weights()).items())
        self._event("set_level_weights", [[level, w] for level, w in weights] or None)

    # ------------------------------------------------------------- persistence
    def _event(self, name: str, *args: Any) -> Any:
        """Call the core's event method ``name``; remember the call if it changed the state."""
        version = self._core.version
        out = getattr(self._core, name)(*args)
        if self._core.version != version or (name == "take_stops" and out):
            self._events.append([name, *args])
        return out

    def _resolve_state(self, trial: Trial) -> None:
        """Pick the state file at the first trial; load it if this is a restored run."""
        self._resolved = True
        self._path = self._state_path or _default_state_path(trial)
        if self._path is None or not os.path.exists(self._path):
            return
        state = load_state(self._path)
        assert state is not None  # the file exists (checked above)
        if trial.trial_id not in {t["trial_id"] for t in state["core"]["trials"]}:
            return  # a new experiment in a reused directory: start afresh
        if state["scheduler"] != type(self).__name__:
            raise ValueError(f"{self._path} holds {state['scheduler']} state, not {type(self).__name__}")
        self._core.load(state["core"])
        self._store = StateStore(self._path, state["seq"], min_journal_bytes=self.journal_min_bytes)
        # Start the restored run from a fresh snapshot and an empty journal: a torn last
        # line left by the crash would otherwise run into the next append and end every
        # later replay there.
        self._store.compact(self._snapshot_state())
        self._restoring = True

    def _readd(self, trial: Trial) -> None:
        trial_id = trial.trial_id
        self._readded.add(trial_id)
        finished = trial.status in (Trial.TERMINATED, Trial.ERROR)
        reason = "error" if trial.status == Trial.ERROR else "completed"
        if trial_id not in self._core:
            self._event("add", trial_id)
            if finished:
                self._event("finish", trial_id, reason, False)
        elif finished:
            self._event("finish", trial_id, reason, False)
        elif self._core.trial(trial_id).status == rc.DONE:
            self._to_stop.append(trial_id)  # Ray's snapshot predates our STOP: stop it again

    def _end_restore(self) -> None:
        """The first hook after the re-adds: trials Ray did not bring back were lost."""
        if not self._restoring:
            return
        self._restoring = False
        for t in self._core.trials():
            if t.trial_id not in self._readded and t.status != rc.DONE:
                self._event("finish", t.trial_id, "lost", False)
        self._readded.clear()

    def _persist(self) -> None:
        """Journal the hook's events in one append; compact when the journal has outgrown the snapshot."""
        if self._path is None:
            self._events.clear()
            return
        if not self._events and self._store is not None:
            return
        if self._store is None:  # a new experiment: a first snapshot (it includes the events) and an empty journal
            self._store = StateStore(self._path, min_journal_bytes=self.journal_min_bytes)
            self._store.compact(self._snapshot_state())
            self._events.clear()
            return
        self._store.append(self._events)
        self._events.clear()
        if self._store.due():
            self._store.compact(self._snapshot_state())

    def _snapshot_state(self) -> dict[str, Any]:
        return {
            "scheduler": type(self).__name__,
            "metric": self._metric,
            "mode": self._mode,
            "resource_attr": self.resource_attr,
            "core": self._core.to_dict(),
        }

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_store"] = None  # an open file; a copy reopens it at its first write
        return state


def _searcher_chain(tune_controller: TuneController) -> list[Any]:
    """The searcher wrappers under Tune's search algorithm, outermost first (ConcurrencyLimiter, ...)."""
    chain: list[Any] = []
    searcher = getattr(getattr(tune_controller, "search_alg", None), "searcher", None)
    while searcher is not None and len(chain) < 8:
        chain.append(searcher)
        searcher = getattr(searcher, "searcher", None)
    return chain


def _running(tune_controller: TuneController) -> int:
    live: Iterable[Trial] = tune_controller.get_live_trials()  # type: ignore[no-untyped-call]  # unannotated in Ray
    return sum(1 for t in live if t.status == Trial.RUNNING)


def _stalled(live: Iterable[Trial]) -> bool:
    """Trials are paused, but none runs or waits to start (``live``: Ray's unfinished trials)."""
    paused = False
    for t in live:
        if t.status in (Trial.RUNNING, Trial.PENDING):
            return False
        paused = paused or t.status == Trial.PAUSED
    return paused


def _default_state_path(trial: Trial) -> str | None:
    """Ray's driver staging directory of the experiment: Ray uploads it to the experiment's
    storage (local or cloud) with every experiment snapshot and downloads it before
    re-adding trials on restore, so the state travels with Ray's own snapshot. (A file
    written straight into a local experiment directory would be overwritten by the older
    staged copy at the next upload.)"""
    staging = getattr(trial, "local_experiment_path", None)
    return os.path.join(staging, FILE_NAME) if staging else None
