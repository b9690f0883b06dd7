"""Run a validated experiment: its stages in order, then cross-validation; or resume one.

Each stage is one Ray Tune experiment (``pipeline.tuner_run``) in ``<output>/<stage>``;
the top-k configurations of a stage are the first trials of the next (the searcher's
``points_to_evaluate``) and, with ``warm_start``, its observations are given to the next
searcher. After every transition the pipeline's progress is saved atomically
(``pipeline.state``), which is what ``--resume`` reads: finished stages are not run
again, the running one is continued by ``Tuner.restore``.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from pipeline import adaptive, deadline, handoff, pareto_select, ray_runtime
from pipeline.config import ExperimentConfig, build, load_yaml
from pipeline.cv import FinalistScore, cv_points, cv_space, fold_scores, near_ties, winner
from pipeline.errors import UsageError
from pipeline.events import EVENTS_FILE, read_events
from pipeline.layout import BEST_FILE, CV_CSV, CV_DIR, REPORT_FILE, SCRATCH, STAGE_TABLES, TRIALS_CSV, TRIALS_PARQUET
from pipeline.lock import LOCK_FILE, ExperimentLock
from pipeline.ranking import TrialOutcome, merge_completed, observations, outcomes_from_grid, rank, top_k
from pipeline.registry import PAUSING, SCHEDULERS, SEARCHERS, SearchContext
from pipeline.results import atomic_write, write_json, write_trials
from pipeline.stage_trainable import check_reads, stage_trainable
from pipeline.stages_config import StageSpec
from pipeline.state import (
    DONE,
    FAILED,
    RUNNING,
    SETTINGS_FILE,
    SKIPPED,
    STATE_FILE,
    STOPPED,
    CVRecord,
    PipelineState,
    RefitRecord,
    StageRecord,
    damaged,
    settings_digest,
)
from pipeline.tasks import Fidelity, get_task
from pipeline.tuner_run import TunerRun, check_restorable, fit, restorable


@dataclass
class ExperimentResult:
    output: Path
    best: dict[str, Any] | None
    n_trials: int
    n_errors: int
    wall_s: float
    epochs: int


def load_for_resume(out_dir: str, address: str | None, verbose: bool | None) -> ExperimentConfig:
    """The configuration an experiment directory was started with, validated again.

    ``experiment.yaml`` must be the file the experiment was started with: its digest is
    kept in ``pipeline.json``, so an emptied, truncated or edited settings file is
    refused (one line naming it) instead of resuming as some other experiment.
    """
    path = Path(out_dir).expanduser().resolve()
    settings = path / SETTINGS_FILE
    if not path.is_dir() or not settings.is_file():
        raise UsageError("resume", f"{path} is not an mftune experiment directory (no {SETTINGS_FILE})")
    state = PipelineState.load(path)
    try:
        raw = load_yaml(str(settings), field_name="resume")
    except UsageError as err:
        raise damaged(settings, err.message) from None
    if state.digest is not None and settings_digest(raw) != state.digest:
        raise damaged(settings, f"its settings differ from those the experiment started with ({STATE_FILE})")
    for key in ("task", "stages"):
        if key not in raw:
            raise damaged(settings, f"no {key!r}")
    raw.update({k: v for k, v in (("address", address), ("verbose", verbose)) if v is not None})
    try:
        return build(raw, existing_output=path)
    except UsageError as err:
        raise UsageError("resume", f"{settings}: {err.field}: {err.message}") from None


def load_state(out: Path, cfg: ExperimentConfig) -> PipelineState:
    """``pipeline.json`` read under the lock; its records must be those of ``cfg``'s stages."""
    state = PipelineState.load(out)
    names = [s.name for s in state.stages]
    if names != [s.name for s in cfg.stages]:
        raise damaged(out / STATE_FILE, f"its stages {names} are not those of {SETTINGS_FILE}")
    if (state.cv is None) != (cfg.cv is None):
        raise damaged(out / STATE_FILE, f"its cross-validation record does not match {SETTINGS_FILE}")
    return state


def stage_seed(seed: int, index: int) -> int:
    """Stage 0 uses the seed itself; later stages draw different configurations."""
    return seed if index == 0 else int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def run(cfg: ExperimentConfig, resume: bool = False) -> ExperimentResult:
    """Run (or resume) the experiment while holding the directory's lock.

    Everything that can fail on the user's input is checked before a new directory is
    created: Ray is started (or joined) and the trial resources are checked against it
    first. A session that ends by an error or an interruption says so in
    ``pipeline.json`` (``failed`` / ``stopped``); only a killed driver leaves ``running``,
    and then the released lock tells that nobody runs it.
    """
    started = time.monotonic()  # the deadline counts Ray's start too
    ray_runtime.quiet_environment(cfg.verbose)
    ray_runtime.snapshot_often()
    out = cfg.output
    lock = ExperimentLock(out, "resume" if resume else "output")
    try:
        if resume:
            lock.acquire()  # before Ray starts: a second driver learns it at once
            state = load_state(out, cfg)
            for rec in [*state.stages, *([state.cv] if state.cv else [])]:
                if rec.status not in (DONE, SKIPPED):
                    check_restorable(out / getattr(rec, "name", CV_DIR))
        concurrent = _preflight(cfg)
        if not resume:
            create_output(out, lock)
            _write_settings(cfg.settings, out / SETTINGS_FILE)
            state = PipelineState(
                stages=[StageRecord(s.name) for s in cfg.stages],
                cv=CVRecord() if cfg.cv else None,
                digest=settings_digest(cfg.settings),
                refit=RefitRecord() if cfg.refit else None,
            )
        else:
            state.sessions += 1
            if cfg.refit and state.refit is None and state.status != DONE:  # unfinished, from before refits
                state.refit = RefitRecord()
        shutil.rmtree(out / SCRATCH, ignore_errors=True)  # a killed session's staged checkpoints
        spent_before = state.spent_s
        state.start_clock(started)
        state.status = RUNNING
        state.save(out)
        try:
            with deadline.session(cfg.deadline_s, spent_before, started, save=lambda: state.save(out)):
                return _run_stages(cfg, state, concurrent, resume)
        except BaseException as err:
            _mark_ended(state, out, STOPPED if isinstance(err, KeyboardInterrupt) else FAILED)
            raise
    finally:
        if lock.held:
            shutil.rmtree(out / SCRATCH, ignore_errors=True)
        lock.release()


def _preflight(cfg: ExperimentConfig) -> int:
    """Start or join Ray and check that a trial fits; return how many run at once."""
    resources = ray_runtime.init(cfg.address, cfg.verbose)
    fits = ray_runtime.concurrency(resources, cfg.cpus_per_trial, cfg.gpus_per_trial)
    if fits == 0:
        have = f"{resources.get('CPU', 0):g} CPUs, {resources.get('GPU', 0):g} GPUs"
        raise UsageError(
            "gpus_per_trial"
            if cfg.gpus_per_trial and resources.get("GPU", 0) < cfg.gpus_per_trial
            else "cpus_per_trial",
            f"a trial asks for {cfg.cpus_per_trial:g} CPU / {cfg.gpus_per_trial:g} GPU but the cluster has {have}",
        )
    return cfg.max_concurrent or fits


def create_output(out: Path, lock: ExperimentLock) -> None:
    """Create a new experiment directory atomically and lock it.

    ``os.mkdir`` either creates the directory or fails; an existing empty directory is
    accepted, and the emptiness check runs again under the lock, so of two drivers
    given the same new ``--output`` exactly one proceeds.
    """
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        os.mkdir(out)
    except FileExistsError:
        if not out.is_dir():
            raise UsageError("output", f"{out} already exists and is not a directory; choose a new path") from None
    except OSError as err:
        raise UsageError("output", f"cannot create {out}: {err.strerror}") from None
    lock.acquire()
    if any(p.name != LOCK_FILE for p in out.iterdir()):
        lock.release()
        raise UsageError(
            "output",
            f"{out} already exists and is not an empty directory; choose a new path (or continue it with --resume)",
        )


def _mark_ended(state: PipelineState, out: Path, status: str) -> None:
    """Nothing stays marked running once this session has ended (resume picks any of them up)."""
    for rec in [*state.stages, *([state.cv] if state.cv else [])]:
        if rec.status == RUNNING:
            rec.status = status
    if state.status == RUNNING:
        state.status = status
    try:
        state.save(out)
    except OSError:
        pass  # the original error is the one to report


def _run_stages(cfg: ExperimentConfig, state: PipelineState, concurrent: int, resume: bool) -> ExperimentResult:
    out = cfg.output
    cv_text = f" + {cfg.cv.folds}-fold CV of the top {cfg.cv.top_k}" if cfg.cv else ""
    verb = f"resuming (session {state.sessions})" if resume else "starting"
    _say(
        f"mftune: {cfg.task}: {len(cfg.stages)} stage{'s' if len(cfg.stages) > 1 else ''}{cv_text}; "
        f"{concurrent} trials at a time ({cfg.cpus_per_trial:g} CPU, {cfg.gpus_per_trial:g} GPU each); "
        f"seed {cfg.seed}; {verb} in {out}"
        + (f"; deadline {cfg.deadline_s:g}s ({max(0.0, deadline.left_s() or 0.0):.0f}s left)" if cfg.deadline_s else "")
    )

    events_path = out / EVENTS_FILE
    warned: set[str] = set()  # fidelity knobs already reported as never read
    points: list[dict[str, Any]] = []
    obs: list[list[Any]] = []
    bridges = 0  # of the points: the previous stage's bridge configurations (run on top of the budget)
    extra = 0  # trials on top of the stage's budget (pipeline.adaptive.next_inputs)
    carry: list[TrialOutcome] = []  # results at this stage's fidelity an adaptive probe already has
    for i, (spec, rec) in enumerate(zip(cfg.stages, state.stages)):
        head = f"stage {i + 1}/{len(cfg.stages)} {spec.name}"
        if _past_deadline(rec.status, out / spec.name):
            _skip(cfg, state, i)
            break
        if rec.status == DONE:
            _say(f"mftune: {head}: finished before ({rec.trials} trials); its top {len(rec.top_k)} go on")
        else:
            rec.status = RUNNING
            state.save(out)
            _say(
                f"mftune: {head}: {_describe(cfg, spec.fidelity)}; {spec.searcher} + {spec.scheduler}; "
                f"budget {_budget(spec)}"
                + handoff.describe_inputs(len(points), bridges, len(carry), extra)
                + ("; warm-started" if spec.warm_start and obs else "")
            )
            warm = obs if spec.warm_start else []
            if spec.adaptive:
                outcomes, wall = adaptive.run(
                    cfg, state, i, points, warm, extra, _part(cfg, concurrent, events_path), lambda: state.save(out)
                )
            else:
                outcomes, wall = _run_stage(cfg, spec, i, points, warm, concurrent, events_path, extra)
            outcomes += carry
            _finish_stage(rec, spec, outcomes, wall, cfg, out)
            handoff.after_stage(cfg, state, i, outcomes, stage_seed(cfg.seed, i))
            rec.cost = adaptive.add_probe_cost(rec.cost, rec.adaptive)
            state.save(out)
            nxt = cfg.stages[i + 1].name if i + 1 < len(cfg.stages) else ("cv" if cfg.cv else "the result")
            best = f"{rec.best:.4f}" if rec.best is not None else "none"
            _say(
                f"mftune: {head} done: {rec.trials} trials ({rec.errors} failed), {rec.epochs} epochs, "
                f"{rec.wall_s:.1f}s, {handoff.describe_cost(rec.cost, cfg.gpus_per_trial > 0)}; best {cfg.metric} "
                f"{best}; top {len(rec.top_k)}"
                + (f" + {len(rec.bridges)} bridges" if rec.bridges else "")
                + f" -> {nxt}"
            )
            if i > 0:
                _say(f"mftune: {handoff.describe_pair(cfg.stages[i - 1].name, spec.name, rec.correlation)}")
        if not rec.top_k:
            if i > 0 and not rec.errors and deadline.passed():  # cut by the deadline before any trial reported
                _skip(cfg, state, i, cut=True)
                break
            raise_no_result(cfg, spec)
        check_reads(cfg, spec.name, spec.fidelity, f"stages[{i}]" if len(cfg.stages) > 1 else "", warned)
        points, bridges, extra, carry = adaptive.next_inputs(state, i, cfg.metric)
        obs = rec.observations

    if cfg.cv is not None and state.cv is not None:
        if _past_deadline(state.cv.status, out / CV_DIR):
            state.cv.status = SKIPPED
            state.save(out)
            _say("mftune: cv skipped: the deadline has passed; the result is the last stage's best")
        else:
            _run_cv(cfg, state, concurrent, events_path, warned)
    winner = _best(cfg, state)
    if state.refit is not None and winner is not None:
        from pipeline.refit import run_refit

        run_refit(cfg, state, winner)
    state.status = DONE
    state.save(out)
    return _write_results(cfg, state)


def _past_deadline(status: str, ray_dir: Path) -> bool:
    """Whether a stage (or CV) is skipped: skipped before, or not begun and the deadline
    has passed. One that has begun is continued, and Ray stops it at once, so what its
    trials reported is kept."""
    return status == SKIPPED or (status != DONE and _too_late(ray_dir))


def _too_late(ray_dir: Path) -> bool:
    """The deadline has passed and no Ray run in ``ray_dir`` was begun (so none continues)."""
    return deadline.passed() and not restorable(ray_dir)


def _skip(cfg: ExperimentConfig, state: PipelineState, first: int, cut: bool = False) -> None:
    """Mark stages ``first`` on as skipped by the deadline, and say so once. ``cut``: stage
    ``first`` began but the deadline passed before any of its trials reported, so it has no
    result to hand on either; the answer is the stage before's, as when it never began."""
    if first == 0:  # nothing to take a result from: exit 1 as a stage without results does
        print(
            f"mftune: the deadline of {cfg.deadline_s:g}s passed before the first stage began "
            f"({state.spent_s:.0f}s spent); raise deadline_s",
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(1)
    names = [s.name for s in state.stages[first:]]
    fresh = any(s.status != SKIPPED for s in state.stages[first:])
    for rec in state.stages[first:]:
        rec.status = SKIPPED
    state.save(cfg.output)
    if fresh:
        _say(
            f"mftune: deadline of {cfg.deadline_s:g}s passed ({state.spent_s:.0f}s spent)"
            + (f" before any trial of stage {names[0]} reported" if cut else "")
            + ": "
            f"stage{'s' if len(names) > 1 else ''} {', '.join(names)} skipped; "
            f"the result comes from stage {state.stages[first - 1].name}"
        )


def raise_no_result(cfg: ExperimentConfig, spec: StageSpec) -> None:
    errors = sorted((cfg.output / spec.name).glob("*/error.txt"))
    why = (
        f"see {errors[0]}"
        + (f" and {len(errors) - 1} more error.txt in {cfg.output / spec.name}" if len(errors) > 1 else "")
        if errors
        else (
            "no trial failed: the experiment's deadline_s passed before any trial reported; raise it"
            if deadline.passed()
            else "no trial failed: the stage's budget ended before any trial reported; raise it"
        )
    )
    print(
        f"mftune: stage {spec.name}: no trial reported a finite {cfg.metric}; stopping here ({why})",
        file=sys.stderr,
        flush=True,
    )
    raise SystemExit(1)


# ---------------------------------------------------------------------- stages


def _part(cfg: ExperimentConfig, concurrent: int, events_path: Path) -> adaptive.RunPart:
    """How pipeline.adaptive runs a part of a stage (or its probe): as a stage of its own."""
    return lambda spec, index, points, warm, extra: _run_stage(
        cfg, spec, index, points, warm, concurrent, events_path, extra
    )


def _run_stage(
    cfg: ExperimentConfig,
    spec: StageSpec,
    index: int,
    points: list[dict[str, Any]],
    warm: list[list[Any]],
    concurrent: int,
    events_path: Path,
    extra_trials: int = 0,
) -> tuple[list[TrialOutcome], float]:
    from ray import tune

    fn = stage_trainable(cfg, spec.fidelity, spec.name)
    trials = spec.budget.trials + extra_trials if spec.budget.trials is not None else None
    if _too_late(cfg.output / spec.name):  # a part of an adaptive stage
        return [], 0.0
    if trials == 0:  # everything it was to evaluate an adaptive probe already has (pipeline.adaptive)
        return [], 0.0
    run = TunerRun(
        name=spec.name,
        experiment_dir=cfg.output,
        trainable=tune.with_resources(fn, {"cpu": cfg.cpus_per_trial, "gpu": cfg.gpus_per_trial}),
        metric=cfg.metric,
        mode=cfg.mode,
        num_samples=trials if trials is not None else -1,
        concurrent=_limit(cfg, spec, concurrent, trials),
        epochs_budget=spec.budget.epochs_budget,
        time_budget_s=spec.budget.time_s,
        reuse_actors=cfg.reuse_actors,
        verbose=cfg.verbose,
        max_failures=cfg.max_failures,
        max_epochs=spec.fidelity.max_epochs if cfg.custom else None,
    )

    def algorithms():
        ctx = SearchContext(
            space=cfg.space,
            metric=cfg.metric,
            mode=cfg.mode,
            seed=stage_seed(cfg.seed, index),
            max_resource=spec.fidelity.max_epochs,
            points_to_evaluate=tuple(points),
            **pareto_select.search_context(cfg),
        )
        searcher = SEARCHERS[spec.searcher](ctx)
        for config, value in warm:
            searcher.add_evaluated_point(config, value)
        return searcher, SCHEDULERS[spec.scheduler](ctx)

    grid, wall, _ = fit(run, algorithms)
    outcomes = merge_completed(outcomes_from_grid(grid, cfg.metric), read_events(events_path), spec.name, cfg.metric)
    return outcomes, wall


def _finish_stage(
    rec: StageRecord, spec: StageSpec, outcomes: list[TrialOutcome], wall: float, cfg: ExperimentConfig, out: Path
) -> None:
    mode = cfg.mode
    # several objectives and nothing after this stage: keep every configuration, so that
    # best.json's Pareto set is the stage's whole front, not its first point
    k = len(outcomes) if cfg.multi_objective and cfg.cv is None and spec is cfg.stages[-1] else spec.top_k
    rec.top_k = (
        pareto_select.top_k(outcomes, cfg.objectives, cfg.constraints, k)
        if cfg.multi_objective
        else top_k(outcomes, mode, spec.top_k)
    )
    rec.observations = observations(outcomes)
    rec.trials = len(outcomes)
    rec.errors = sum(o.error for o in outcomes)
    rec.epochs = sum(o.iterations for o in outcomes)
    rec.wall_s += wall
    ranked = rank(outcomes, mode)
    rec.best = ranked[0].value if ranked else None
    (out / STAGE_TABLES).mkdir(exist_ok=True)
    table = outcomes_table(outcomes, spec.name)
    atomic_write(out / STAGE_TABLES / f"{spec.name}.csv", lambda p: table.to_csv(p, index=False))
    rec.status = DONE


def outcomes_table(outcomes: list[TrialOutcome], stage: str) -> pd.DataFrame:
    rows = []
    for o in outcomes:
        row: dict[str, Any] = {
            "stage": stage,
            "trial_id": o.trial_id,
            "failed": o.error or o.value is None,
            "recovered": o.recovered,
            "training_iteration": o.iterations,
        }
        row.update(
            {
                k: v
                for k, v in o.metrics.items()
                if isinstance(v, (int, float, str, bool)) and k not in row and k != "trial_id"
            }
        )
        row.update({f"config/{k}": v for k, v in _flatten(o.config).items()})
        rows.append(row)
    return pd.DataFrame(rows)


def _flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "/"))
        else:
            out[name] = value
    return out


# -------------------------------------------------------------------------- cv


def _limit(cfg: ExperimentConfig, spec: StageSpec, concurrent: int, trials: int | None) -> int | None:
    """max_concurrent_trials for a stage. None under a pausing scheduler unless the user set
    --max-concurrent: Tune's limiter counts paused trials as running and would hold new
    ones back while trials wait at a rung (docs/schedulers.md); the trials' CPU/GPU
    requests still bound how many run at once."""
    if spec.scheduler in PAUSING and cfg.max_concurrent is None:
        return None
    return min(concurrent, trials) if trials else concurrent


def _run_cv(cfg: ExperimentConfig, state: PipelineState, concurrent: int, events_path: Path, warned: set[str]) -> None:
    from ray import tune

    from searchers.random_search import RandomSearcher

    cv, rec = cfg.cv, state.cv
    final = state.stages[state.final]
    finalists = final.top_k[: cv.top_k]
    if rec.status == DONE:
        _say("mftune: cv: finished before")
        return
    rec.status, rec.finalists = RUNNING, finalists
    state.save(cfg.output)
    n = len(finalists) * cv.folds
    _say(
        f"mftune: cv: {cv.folds} folds x {len(finalists)} finalists at {_describe(cfg, cv.fidelity)} "
        f"({n} trials, folds stratified over every labelled row)"
    )
    fn = stage_trainable(cfg, cv.fidelity, "cv", cv_folds=cv.folds)
    run = TunerRun(
        name=CV_DIR,
        experiment_dir=cfg.output,
        trainable=tune.with_resources(fn, {"cpu": cfg.cpus_per_trial, "gpu": cfg.gpus_per_trial}),
        metric=cfg.metric,
        mode=cfg.mode,
        num_samples=n,
        concurrent=min(concurrent, n),
        epochs_budget=None,
        time_budget_s=None,
        reuse_actors=cfg.reuse_actors,
        verbose=cfg.verbose,
        max_failures=cfg.max_failures,
        label="cv ",
        show_best=False,
        max_epochs=cv.fidelity.max_epochs if cfg.custom else None,
    )

    def algorithms():
        searcher = RandomSearcher(
            cv_space(cfg.space, len(finalists), cv.folds),
            metric=cfg.metric,
            mode=cfg.mode,
            seed=cfg.seed,
            points_to_evaluate=cv_points(finalists, cv.folds),
        )
        return searcher, SCHEDULERS["fifo"](
            SearchContext(
                space=cfg.space, metric=cfg.metric, mode=cfg.mode, seed=cfg.seed, max_resource=cv.fidelity.max_epochs
            )
        )

    grid, wall, _ = fit(run, algorithms)
    check_reads(cfg, CV_DIR, cv.fidelity, "cv", warned)
    outcomes = merge_completed(outcomes_from_grid(grid, cfg.metric), read_events(events_path), CV_DIR, cfg.metric)
    scores = fold_scores(outcomes, len(finalists), cv.folds)
    rec.scores = [s.scores for s in scores]
    rec.winner = winner(scores, cfg.mode)
    if cfg.multi_objective:
        metrics = pareto_select.tracked(cfg.objectives, cfg.constraints)
        rec.objective_scores = pareto_select.fold_tables(outcomes, len(finalists), cv.folds, metrics)
        rec.winner = pareto_select.cv_pareto(rec.objective_scores, cfg.objectives, cfg.constraints, cfg.select)[
            "selected"
        ]
    rec.epochs = sum(o.iterations for o in outcomes)
    rec.wall_s += wall
    handoff.after_cv(cfg, rec, outcomes, [s.mean for s in scores], cfg.seed)
    rec.status = DONE
    state.save(cfg.output)
    for s, c in zip(scores, finalists):
        mean = (
            f"{s.mean:.4f} ± {s.std:.4f}"
            if s.std is not None
            else (f"{s.mean:.4f}" if s.mean is not None else "failed")
        )
        _say(
            f"  finalist {s.index + 1}: {cfg.metric} {mean} over {len(s.finite)}/{cv.folds} folds "
            f"(stage {final.name}: {c.value:.4f})"
        )


# --------------------------------------------------------------------- results


def _stage_table(path: Path) -> pd.DataFrame | None:
    """A stage's table; None when there is none, or when the stage had no trial at all (cut
    by the deadline in its first epoch), whose file holds no columns."""
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return None


def _write_results(cfg: ExperimentConfig, state: PipelineState) -> ExperimentResult:
    out = cfg.output
    tables = [t for s in state.stages if (t := _stage_table(out / STAGE_TABLES / f"{s.name}.csv")) is not None]
    trials = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    write_trials(trials, out)
    best = _best(cfg, state)
    written = [TRIALS_CSV, TRIALS_PARQUET]
    if state.cv is not None and state.cv.status == DONE:
        rows = [
            {"finalist": j + 1, "fold": f, cfg.metric: v, "config": c.config}
            for j, (c, scores) in enumerate(zip(state.cv.finalists, state.cv.scores))
            for f, v in enumerate(scores)
        ]
        cv_table = pd.DataFrame(rows)
        atomic_write(out / CV_CSV, lambda p: cv_table.to_csv(p, index=False))
        written.append(CV_CSV)
    if best is not None:
        write_json(best, out / BEST_FILE)
        written.append(BEST_FILE)
    try:
        from pipeline.report import write_report

        write_report(out)
        written.append(REPORT_FILE)
    except ImportError as err:  # matplotlib missing: the tables are still there
        _say(f"mftune: no report ({err})")
    n_trials = sum(s.trials for s in state.stages) + (len(state.cv.finalists) * cfg.cv.folds if state.cv else 0)
    n_errors = sum(s.errors for s in state.stages)
    wall = sum(s.wall_s for s in state.stages) + (state.cv.wall_s if state.cv else 0.0)
    epochs = sum(s.epochs for s in state.stages) + (state.cv.epochs if state.cv else 0)
    _say(f"mftune: {n_trials} trials ({n_errors} failed) in {wall:.1f}s, {epochs} epochs")
    for line in handoff.summary(cfg, state):
        _say(f"mftune: {line}")
    if best is None:
        _say(f"mftune: no trial reported a finite {cfg.metric}")
    else:
        word = f"selected ({cfg.select})" if cfg.multi_objective else "best"  # several objectives: the pick
        if "cv_mean" in best:
            std = f" ± {best['cv_std']:.4f}" if best.get("cv_std") is not None else ""
            _say(
                f"mftune: {word} {cfg.metric} = {best['value']:.4f}{std} ({cfg.cv.folds}-fold CV of finalist "
                f"{best['finalist']}; {best['stage_value']:.4f} in stage {state.stages[state.final].name})"
            )
            if best.get("near_ties"):
                ties = ", ".join(map(str, best["near_ties"]))
                _say(f"mftune: near-tie: finalist {ties} within one standard error of the winner's CV mean")
        else:
            _say(
                f"mftune: {word} {cfg.metric} = {best['value']:.4f} (trial {best['trial_id']}, stage "
                f"{state.stages[state.final].name})"
            )
        _say(f"mftune: best config: {best['config']}")
        for line in pareto_select.summary_lines(best):  # several objectives only
            _say(line)
    model = [f"{best['model']}/"] if best and best.get("model") else []  # the refit line described it
    _say(f"mftune: results in {out} ({', '.join(written + model)}, Ray state per stage)")
    return ExperimentResult(out, best, n_trials, n_errors, wall, epochs)


def _best(cfg: ExperimentConfig, state: PipelineState) -> dict[str, Any] | None:
    last = state.stages[state.final]
    if not last.top_k:
        return None
    base = {
        "task": cfg.task,
        "metric": cfg.metric,
        "mode": cfg.mode,
        "seed": cfg.seed,
        "stages": [
            {
                "name": s.name,
                "status": s.status,  # skipped: the deadline passed before it began
                "trials": s.trials,
                "failed": s.errors,
                "epochs": s.epochs,
                "wall_s": s.wall_s,
                "best": s.best,
                "top_k": [c.value for c in s.top_k],
                "bridges": [c.value for c in s.bridges],
                "cost": s.cost,
                "correlation_with_previous": s.correlation,  # how the previous stage's ranking predicted this one's
                **({"adaptive": s.adaptive} if s.adaptive else {}),
            }
            for s in state.stages
        ],
    }
    if cfg.deadline_s is not None:
        base["deadline"] = {
            "deadline_s": cfg.deadline_s,
            "spent_s": round(state.spent_s, 1),  # wall-clock, all sessions (refit included), as of the last save
            "skipped": [s.name for s in state.stages if s.status == SKIPPED]
            + (["cv"] if state.cv is not None and state.cv.status == SKIPPED else []),
        }
    if state.refit is not None and state.refit.status == DONE:
        from pipeline.layout import MODEL_DIR
        from pipeline.refit import describe

        base.update(model=MODEL_DIR, model_summary=describe(state.refit), test_metric=state.refit.test_metric)
    base["test_score"] = state.refit.test_score if state.refit is not None else None
    cv = state.cv
    if cv is None or cv.status != DONE or cv.winner is None:
        top = last.top_k[0]
        return {
            **base,
            "value": top.value,
            "config": top.config,
            "trial_id": top.trial_id,
            "iterations": top.iterations,
            "fidelity": cfg.stages[state.final].fidelity.to_dict(),
            "checkpoint": top.checkpoint,
            **(pareto_select.stage_best_fields(cfg, last.top_k) if cfg.multi_objective else {}),
        }
    scores = [FinalistScore(j, fold) for j, fold in enumerate(cv.scores)]
    win = scores[cv.winner]
    finalists = [
        {
            "config": c.config,
            "stage_value": c.value,
            "trial_id": c.trial_id,
            "cv_scores": s.scores,
            "cv_mean": s.mean,
            "cv_std": s.std,
        }
        for c, s in zip(cv.finalists, scores)
    ]
    return {
        **base,
        "value": win.mean,
        "cv_mean": win.mean,
        "cv_std": win.std,
        "cv_scores": win.scores,
        "folds": cfg.cv.folds,
        "finalist": cv.winner + 1,
        "config": cv.finalists[cv.winner].config,
        "stage_value": cv.finalists[cv.winner].value,
        "trial_id": cv.finalists[cv.winner].trial_id,
        "checkpoint": cv.finalists[cv.winner].checkpoint,
        "fidelity": cfg.cv.fidelity.to_dict(),
        "finalists": finalists,
        "near_ties": [j + 1 for j in near_ties(scores, cv.winner)],  # finalists within one SE of the winner
        "cv_epochs": cv.epochs,
        **(pareto_select.best_fields(cfg, cv) if cfg.multi_objective else {}),
        "cv_cost": cv.cost,
        "finalist_correlation": cv.correlation,  # last-stage values against CV means
    }


# ----------------------------------------------------------------------- text


def _describe(cfg: ExperimentConfig, fidelity: Fidelity) -> str:
    parts = []
    native = None if cfg.custom else getattr(get_task(cfg.task), "native_resolution", None)
    side = fidelity.resolution or native
    if side:
        parts.append(f"{side}x{side} px")
    parts.append("all rows" if fidelity.data_fraction == 1 else f"{fidelity.data_fraction:.0%} of the rows")
    parts.append(f"<= {fidelity.max_epochs} epochs")
    parts += [f"{k}={v}" for k, v in fidelity.knobs]
    return ", ".join(parts)


def _budget(spec: StageSpec) -> str:
    b = spec.budget
    parts = [f"{b.trials} trials"] if b.trials else []
    parts += [f"{b.epochs_budget} epochs"] if b.epochs_budget else []
    parts += [f"{b.time_s:g}s"] if b.time_s else []
    return " / ".join(parts)


def _write_settings(settings: dict[str, Any], path: Path) -> None:
    text = (
        "# The settings this experiment was started with (stages spelled out);\n"
        "# `python -m pipeline.run --resume DIR` reads them, and `--config` accepts this file.\n"
        + yaml.safe_dump(settings, sort_keys=False)
    )

    def write(tmp: str) -> None:
        with open(tmp, "w") as f:
            f.write(text)

    atomic_write(path, write)


def _say(text: str) -> None:
    print(text, file=sys.stdout, flush=True)
