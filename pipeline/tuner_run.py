"""One Ray Tune experiment of the pipeline (a stage or the CV run): started, or restored.

A stage directory that holds ``tuner.pkl`` and an experiment snapshot is continued with
``Tuner.restore(resume_unfinished=True)``: finished trials are kept, unfinished ones
continue from the checkpoint in the snapshot, the searcher comes back from its saved
state, the scheduler and the budget from callback state (``SchedulerState``,
``StageBudget``). A directory without a snapshot (killed before the first one) holds no
result Ray could restore: it is moved aside and the stage starts again.
"""

from __future__ import annotations

import ast
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.budget import StageBudget
from pipeline.errors import UsageError
from pipeline.events import EVENTS_FILE, EventLog
from pipeline.layout import CV_DIR, aside_name
from pipeline.progress import ProgressPrinter
from pipeline.scheduler_state import SchedulerState
from schedulers.state_file import ended_trials


@dataclass
class TunerRun:
    """What a pipeline Tuner needs besides the searcher and scheduler."""

    name: str
    experiment_dir: Path  # Ray's storage_path: the stage lives in experiment_dir / name
    trainable: Any  # already wrapped with tune.with_resources
    metric: str
    mode: str
    num_samples: int  # -1: until the budget stops it
    concurrent: int | None  # max_concurrent_trials; None: trial resources alone decide
    epochs_budget: int | None  # epochs summed over the stage's trials
    time_budget_s: float | None
    reuse_actors: bool
    verbose: bool
    max_failures: int = 0
    max_epochs: int | None = None  # per trial: stop each trial here (custom trainables)
    label: str = ""
    show_best: bool = True  # progress lines name the best value so far

    @property
    def path(self) -> Path:
        return self.experiment_dir / self.name


def restorable(path: Path) -> bool:
    return (path / "tuner.pkl").is_file() and any(path.glob("experiment_state-*.json"))


def check_restorable(path: Path) -> None:
    """Refuse a stage directory whose saved state cannot be read, naming the file.

    Ray would raise a raw UnpicklingError for a damaged ``tuner.pkl``, and for a damaged
    searcher state it logs a warning and silently starts a new search. Unpickling runs
    the code a pickle names: a resume directory must be trusted like code
    (docs/pipeline.md).
    """
    import json
    import pickle

    if not restorable(path):
        return
    # (Ray's search_gen_state-*.json is a pickle too, despite its name)
    newest = [_newest(path, p) for p in ("searcher-state-*.pkl", "callback-states-*.pkl", "search_gen_state-*.json")]
    for file in [path / "tuner.pkl", *(f for f in newest if f is not None)]:
        try:
            with open(file, "rb") as f:
                pickle.load(f)
        except Exception as err:  # any unpickling failure: EOFError, UnpicklingError, AttributeError, ...
            raise _damaged(file, err) from None
    snapshot = _newest(path, "experiment_state-*.json")
    try:
        json.loads(snapshot.read_bytes())
    except (ValueError, OSError) as err:
        raise _damaged(snapshot, err) from None


def _newest(path: Path, pattern: str) -> Path | None:
    """The file Ray restores from: the newest of a pattern (names carry the session's time)."""
    return max(path.glob(pattern), key=lambda p: p.name, default=None)


#: trial ids whose completion only the events log holds and that Ray's search generator
#: has already been told about (so a second restore does not count them twice)
COUNTED_FILE = "mftune-recovered-trials.json"


def count_recovered_trials(path: Path, events_path: Path, stage: str) -> int:
    """Make the trials Ray's snapshot lost but the events log kept count against ``num_samples``.

    A trial created and completed after Ray's last snapshot is absent from the restored
    experiment; the pipeline adds it back from ``events.jsonl`` (``merge_completed``), but
    Ray's search generator, restored from the same snapshot, would create a replacement
    for it: one kill could turn a budget of 8 trials into 9, two kills into 10. Before
    ``Tuner.restore`` the generator's counter (``search_gen_state-*.json``, a pickle)
    is raised by the number of such trials; the ids already counted are kept in
    ``COUNTED_FILE`` (Ray's next snapshot still lacks them). Returns how many were added.
    """
    import json

    import ray.cloudpickle as cloudpickle

    from pipeline.events import read_events
    from pipeline.results import atomic_write, write_json

    snapshot, generator = _newest(path, "experiment_state-*.json"), _newest(path, "search_gen_state-*.json")
    if snapshot is None or generator is None:
        return 0
    known = {json.loads(trial)["trial_id"] for trial, _ in json.loads(snapshot.read_bytes())["trial_data"]}
    counted_path = path / COUNTED_FILE
    counted = set(json.loads(counted_path.read_text())["trials"]) if counted_path.is_file() else set()
    done = {e["trial"] for e in read_events(events_path) if e.get("stage") == stage and e.get("e") == "complete"}
    lost = sorted(done - known - counted)
    if not lost:
        return 0
    with open(generator, "rb") as f:
        state = cloudpickle.load(f)
    if not isinstance(state, dict) or not isinstance(state.get("counter"), int):
        return 0  # a Ray whose generator state looks different: leave it as it is
    state["counter"] += len(lost)
    write_json({"trials": sorted(counted | set(lost))}, counted_path)
    atomic_write(generator, lambda tmp: Path(tmp).write_bytes(cloudpickle.dumps(state)))
    return len(lost)


def _damaged(file: Path, err: BaseException) -> UsageError:
    detail = f"{type(err).__name__}: {str(err).splitlines()[0]}" if str(err) else type(err).__name__
    return UsageError("resume", f"{file} is damaged ({detail}); the experiment cannot be resumed")


def set_aside(path: Path) -> Path:
    """Move an unusable stage directory out of the way (nothing is deleted)."""
    n = 1
    while (aside := path.with_name(aside_name(path.name, n))).exists():
        n += 1
    shutil.move(str(path), str(aside))
    return aside


class Interrupted(KeyboardInterrupt):
    """Tune was stopped (Ctrl-C, SIGUSR1) before the stage finished; its state is saved."""


def unfinished_trials(path: Path) -> list[str]:
    """Trials that the experiment's last saved state holds as neither finished nor failed.

    ``Tuner.fit`` returns normally after a SIGINT (Ray catches it, snapshots and stops),
    so this is how the pipeline tells a finished stage from an interrupted one.
    """
    from ray.tune import ExperimentAnalysis

    trials = ExperimentAnalysis(str(path)).trials
    ended = ended_trials(str(path))  # mftune's pausing schedulers: see that function
    return [t.trial_id for t in trials if t.status not in ("TERMINATED", "ERROR") and t.trial_id not in ended]


def fit(run: TunerRun, make_algorithms: Callable[[], tuple[Any, Any]]) -> tuple[Any, float, bool]:
    """Run or continue the experiment; return (ResultGrid, seconds, restored)."""
    from ray import tune

    start = time.monotonic()
    restored = restorable(run.path)
    if restored:
        if run.name != CV_DIR:  # CV's trials are fixed (finalist, fold) points, not a count
            count_recovered_trials(run.path, run.experiment_dir / EVENTS_FILE, run.name)
        tuner = tune.Tuner.restore(
            str(run.path), trainable=run.trainable, resume_unfinished=True, resume_errored=False, restart_errored=False
        )
    else:
        tuner = _new_tuner(run, make_algorithms)
    try:
        grid = tuner.fit()
    except Exception as err:  # Ray wraps errors raised in its controller into TuneError
        missing = _missing_metric(err, run.metric)
        if missing is None:
            raise
        raise UsageError("metric", missing) from None
    if unfinished_trials(run.path):
        raise Interrupted(f"stage {run.name} stopped before it finished; continue with --resume {run.experiment_dir}")
    return grid, time.monotonic() - start, restored


def _new_tuner(run: TunerRun, make_algorithms: Callable[[], tuple[Any, Any]]) -> Any:
    from ray import tune

    if run.path.exists():
        set_aside(run.path)
    searcher, scheduler = make_algorithms()
    budget = StageBudget(run.epochs_budget, run.time_budget_s, max_epochs=run.max_epochs)
    tuner = tune.Tuner(
        run.trainable,
        param_space={},
        tune_config=tune.TuneConfig(
            metric=run.metric,
            mode=run.mode,
            search_alg=searcher,
            scheduler=scheduler,
            num_samples=run.num_samples,
            max_concurrent_trials=run.concurrent,
            reuse_actors=run.reuse_actors,
            trial_dirname_creator=trial_dirname,
        ),
        run_config=tune.RunConfig(
            name=run.name,
            storage_path=str(run.experiment_dir),
            stop=budget,
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
            failure_config=tune.FailureConfig(max_failures=run.max_failures),
            verbose=2 if run.verbose else 0,
            callbacks=[
                budget,
                SchedulerState(scheduler),
                EventLog(run.experiment_dir / EVENTS_FILE, run.name, run.metric),
                ProgressPrinter(
                    run.metric, run.mode, run.num_samples if run.num_samples > 0 else None, run.label, run.show_best
                ),
            ],
        ),
    )
    return tuner


def _missing_metric(err: BaseException, metric: str) -> str | None:
    """The one line for Ray's "result did not include the specified metric" (else None).

    Ray raises it from its controller, as the text of a TuneError that holds the whole
    traceback and the offending result.
    """
    text = str(err)
    if "did not include the specified metric" not in text:
        return None
    keys: list[str] = []
    if "Result: {" in text:
        try:
            result = ast.literal_eval(text[text.rindex("Result: {") + len("Result: ") :].strip().splitlines()[0])
            keys = [k for k in result if k not in _RAY_KEYS and not k.startswith("config/")]
        except (ValueError, SyntaxError):
            pass
    got = f" (it reported {', '.join(keys)})" if keys else ""
    return f"the trainable reported a result without {metric!r}{got}; report it in tune.report() or set --metric"


#: keys Ray adds to every result: not what the trainable reported
_RAY_KEYS = {
    "timestamp",
    "checkpoint_dir_name",
    "done",
    "training_iteration",
    "trial_id",
    "date",
    "time_this_iter_s",
    "time_total_s",
    "pid",
    "hostname",
    "node_ip",
    "time_since_restore",
    "iterations_since_restore",
    "should_checkpoint",
}


def trial_dirname(trial) -> str:
    """Short trial directories: Ray's default embeds the whole config in the name."""
    return trial.trial_id
