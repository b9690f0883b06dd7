"""Run one validated experiment as one Ray Tune ``Tuner`` and write its results."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pipeline import ray_runtime
from pipeline.config import ExperimentConfig
from pipeline.errors import UsageError
from pipeline.registry import SCHEDULERS, SEARCHERS, SearchContext
from pipeline.results import write_json, write_trials


@dataclass
class ExperimentResult:
    output: Path
    best: dict[str, Any] | None
    n_trials: int
    n_errors: int
    wall_s: float


def trial_dirname(trial) -> str:
    """Short trial directories: Ray's default embeds the whole config in the name."""
    return trial.trial_id


def run(cfg: ExperimentConfig, stream: TextIO | None = None) -> ExperimentResult:
    stream = stream or sys.stdout
    ray_runtime.quiet_environment(cfg.verbose)
    from ray import tune

    from pipeline.progress import ProgressPrinter
    from pipeline.tasks import load_custom_trainable
    from pipeline.trainable import make_trainable

    resources = ray_runtime.init(cfg.address, cfg.verbose)
    fits = ray_runtime.concurrency(resources, cfg.cpus_per_trial, cfg.gpus_per_trial)
    if fits == 0:
        have = f"{resources.get('CPU', 0):g} CPUs, {resources.get('GPU', 0):g} GPUs"
        raise UsageError("gpus_per_trial" if cfg.gpus_per_trial else "cpus_per_trial",
                         f"a trial asks for {cfg.cpus_per_trial:g} CPU / {cfg.gpus_per_trial:g} GPU "
                         f"but the cluster has {have}")
    concurrent = min(cfg.max_concurrent or fits, cfg.num_samples)

    ctx = SearchContext(space=cfg.space, metric=cfg.metric, mode=cfg.mode, seed=cfg.seed,
                        max_t=cfg.fidelity.max_epochs)
    searcher = SEARCHERS[cfg.searcher](ctx)
    scheduler = SCHEDULERS[cfg.scheduler](ctx)
    fn = load_custom_trainable(cfg.task) if cfg.custom else make_trainable(cfg.setup())
    trainable = tune.with_resources(fn, {"cpu": cfg.cpus_per_trial, "gpu": cfg.gpus_per_trial})

    cfg.output.parent.mkdir(parents=True, exist_ok=True)
    print(f"mftune: {cfg.task}: {cfg.num_samples} trials x <= {cfg.fidelity.max_epochs} epochs, "
          f"searcher={cfg.searcher}, scheduler={cfg.scheduler}, {concurrent} at a time "
          f"({cfg.cpus_per_trial:g} CPU, {cfg.gpus_per_trial:g} GPU each); seed {cfg.seed}",
          file=stream, flush=True)
    tuner = tune.Tuner(
        trainable,
        param_space={},
        tune_config=tune.TuneConfig(
            metric=cfg.metric, mode=cfg.mode, search_alg=searcher, scheduler=scheduler,
            num_samples=cfg.num_samples, max_concurrent_trials=concurrent,
            reuse_actors=cfg.reuse_actors, time_budget_s=cfg.time_budget_s,
            trial_dirname_creator=trial_dirname),
        run_config=tune.RunConfig(
            name=cfg.output.name, storage_path=str(cfg.output.parent),
            stop={"training_iteration": cfg.fidelity.max_epochs} if cfg.custom else None,
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
            failure_config=tune.FailureConfig(max_failures=0),
            verbose=2 if cfg.verbose else 0,
            callbacks=[ProgressPrinter(cfg.metric, cfg.mode, cfg.num_samples, stream)]),
    )
    start = time.monotonic()
    grid = tuner.fit()
    wall = time.monotonic() - start
    return _finish(cfg, grid, wall, stream)


def _finish(cfg: ExperimentConfig, grid, wall: float, stream: TextIO) -> ExperimentResult:
    df = grid.get_dataframe()
    write_trials(df, cfg.output)
    best = None
    try:
        result = grid.get_best_result(metric=cfg.metric, mode=cfg.mode, scope="last",
                                      filter_nan_and_inf=True)
    except RuntimeError:
        result = None
    if result is not None and result.metrics and cfg.metric in result.metrics:
        metrics = result.metrics
        best = {
            "task": cfg.task, "metric": cfg.metric, "mode": cfg.mode,
            "value": metrics[cfg.metric], "config": result.config,
            "trial_id": metrics.get("trial_id"), "iterations": metrics.get("training_iteration"),
            "fidelity": vars(cfg.fidelity), "seed": cfg.seed,
            "checkpoint": result.checkpoint.path if result.checkpoint else None,
        }
        write_json(best, cfg.output / "best.json")
    n_errors = grid.num_errors
    print(f"mftune: {len(grid)} trials ({n_errors} failed) in {wall:.1f}s", file=stream)
    if best is None:
        print("mftune: no trial reported a finite " + cfg.metric, file=stream)
    else:
        print(f"mftune: best {cfg.metric} = {best['value']:.4f} (trial {best['trial_id']})", file=stream)
        print(f"mftune: best config: {best['config']}", file=stream)
    print(f"mftune: results in {cfg.output} (trials.csv, trials.parquet"
          f"{', best.json' if best else ''}, Ray state)", file=stream, flush=True)
    return ExperimentResult(cfg.output, best, len(grid), n_errors, wall)
