"""The winner as a model: train it once more on every labelled row and save ``model/``.

After cross-validation (or after the last stage when there is none) the winning
configuration is trained on all the rows tuning was allowed to see (every fold's rows,
``data_fraction`` 1) at the last fidelity's resolution, epochs and knobs, under a trial
context whose ``stage`` is ``refit`` and whose ``split(y)`` gives every row: in the driver
on a local CPU run, else in one Ray task with a trial's resources (:func:`in_driver`).
The model comes back to the driver, which writes it into the scratch folder and renames the folder to
``<experiment>/model`` (``pipeline.model`` says what it holds): a killed driver leaves no
half-written model, and ``--resume`` redoes only the refit.

Built-in tasks refit by default (``refit: false`` or ``--no-refit`` turns it off). A
custom trainable refits only when it says how: ``refit: module:function`` names a
function ``refit(config) -> model`` that trains on ``trial_context().split(y)``'s rows and
returns any picklable model; ``trial_context().report({"test_score": ...})`` in it puts a
held-out score into ``best.json`` (docs/own-model.md).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipeline.errors import UsageError
from pipeline.fidelity import Fidelity
from pipeline.layout import MODEL_DIR, SCRATCH

REFIT_STAGE = "refit"


def setting(raw: dict[str, Any], task_name: str, custom: bool) -> bool | str:
    """The validated ``refit`` setting: True/False, or a custom trainable's ``module:function``."""
    value = raw.get("refit")
    if value is None:
        return not custom
    allowed = "true, false or module:function (your refit function)" if custom else "true or false"
    if isinstance(value, bool):
        if value and custom:
            raise UsageError(
                "refit",
                f"{task_name} is your own trainable: say how to refit it with refit: module:function, a "
                "function(config) that trains on trial_context().split(y)'s rows and returns the model "
                "(docs/own-model.md), or set refit: false",
            )
        return value
    if isinstance(value, str) and ":" in value:
        if not custom:
            raise UsageError("refit", f"task {task_name} refits itself: must be {allowed}, got {value!r}")
        from pipeline.tasks import load_custom_trainable

        load_custom_trainable(value, field="refit")  # import errors now, not after the stages
        return value
    raise UsageError("refit", f"must be {allowed}, got {value!r}")


def refit_fidelity(cfg: Any) -> Fidelity:
    """The last fidelity (CV's, else the last stage's) on every row."""
    last = cfg.cv.fidelity if cfg.cv is not None else cfg.stages[-1].fidelity
    return Fidelity(1.0, last.resolution, last.max_epochs, last.knobs)


def run_refit(cfg: Any, state: Any, best: dict[str, Any]) -> None:
    """Refit ``best``'s configuration and install ``model/`` (nothing when already done)."""
    import ray

    from pipeline.state import DONE, RUNNING, RefitRecord

    out: Path = cfg.output
    rec: RefitRecord = state.refit
    if rec.status == DONE:
        _say("mftune: refit: finished before")
        return
    rec.status = RUNNING
    state.save(out)
    fidelity = refit_fidelity(cfg)
    side = f"{fidelity.resolution}x{fidelity.resolution} px, " if fidelity.resolution else ""
    _say(f"mftune: refit: the winner on every labelled row ({side}{fidelity.max_epochs} epochs)")
    start = time.monotonic()
    custom = cfg.refit if isinstance(cfg.refit, str) else None
    args = (cfg.task, cfg.options, custom, best["config"], fidelity, cfg.seed, cfg.cpus_per_trial)
    if in_driver(cfg):
        model, metrics = fit_winner(*args)
    else:
        task = ray.remote(num_cpus=cfg.cpus_per_trial, num_gpus=cfg.gpus_per_trial, max_retries=0)(fit_winner)
        model, metrics = ray.get(task.remote(*args))
    manifest = {
        "format": None,  # set below, after the task's own entries
        "task": cfg.task,
        "config": best["config"],
        "metric": cfg.metric,
        "mode": cfg.mode,
        "value": best["value"],
        "cv_mean": best.get("cv_mean"),
        "cv_std": best.get("cv_std"),
        "fidelity": fidelity.to_dict(),
        "seed": cfg.seed,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    tmp = out / SCRATCH / f"model-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    install = _manifest(manifest, model, metrics, custom)
    if custom:
        from pipeline.model import save_custom

        save_custom(model, install, tmp)
    else:
        model.manifest = install
        model.save(tmp)
    replace_dir(tmp, out / MODEL_DIR)
    rec.kind = install["kind"]
    rec.n_train = install.get("n_train")
    rec.test_score, rec.test_metric, rec.test_rows = (
        install.get("test_score"),
        install.get("test_metric"),
        install.get("test_rows"),
    )
    rec.wall_s += time.monotonic() - start
    rec.status = DONE
    state.save(out)
    _say(f"mftune: refit done: {describe(rec)}, {rec.wall_s:.1f}s; saved in {out / MODEL_DIR}")


def in_driver(cfg: Any) -> bool:
    """Whether the refit runs in the driver: on an embedded Ray without GPUs per trial the
    trials ran on this machine's CPUs anyway, and a fresh Ray worker would spend seconds
    importing torch; on a cluster (``--address``) or with GPUs it is a Ray task with a
    trial's resources, so it runs where trials run and gets a GPU."""
    return cfg.address is None and not cfg.gpus_per_trial


def _manifest(common: dict[str, Any], model: Any, metrics: dict[str, Any], custom: str | None) -> dict[str, Any]:
    from pipeline.model import FORMAT, library_versions

    out = dict(common)
    if custom:
        out.update(kind="custom", refit=custom, metrics=metrics)
        score = metrics.get("test_score")
        out.update(test_score=float(score) if isinstance(score, (int, float)) else None)
    else:
        out.update(model.manifest)
        out.setdefault("test_score", None)
    out["format"] = FORMAT
    out["versions"] = library_versions()
    return out


def describe(rec: Any) -> str:
    rows = f"trained on {rec.n_train} rows" if rec.n_train else "refitted"
    if rec.test_score is None:
        return f"{rows}; no test split"
    on = f" on {rec.test_rows} held-out rows" if rec.test_rows else ""
    return f"{rows}; test {rec.test_metric or 'score'} {rec.test_score:.4f}{on}"


def replace_dir(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` to ``target``; a ``target`` left by a killed refit goes first (the
    rename itself is atomic, so ``target`` is never a half-written model)."""
    if target.exists():
        old = tmp.with_name(tmp.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
        shutil.rmtree(old, ignore_errors=True)
    os.replace(tmp, target)


def fit_winner(
    task_name: str,
    options: Any,
    custom: str | None,
    config: dict[str, Any],
    fidelity: Fidelity,
    seed: int,
    cpus: float,
) -> tuple[Any, dict[str, Any]]:
    """On a worker: the refitted model, and the last metrics the refit reported."""
    import torch

    from pipeline.context import ContextSetup, TrialContext, call_in_context
    from pipeline.tasks import get_task, load_custom_trainable

    threads = torch.get_num_threads()  # the driver's, when the refit runs there
    torch.set_num_threads(max(1, int(cpus)))
    ctx = TrialContext(ContextSetup(fidelity=fidelity, seed=seed, stage=REFIT_STAGE, cpus=cpus, refit=True))
    try:
        if custom:
            model = call_in_context(load_custom_trainable(custom, field="refit"), ctx, config)
            return model, (ctx.reports[-1][0] if ctx.reports else {})
        task = get_task(task_name)
        return call_in_context(lambda c: task.refit(task.parse_hparams(c), options, ctx), ctx, config), {}
    finally:
        torch.set_num_threads(threads)


def _say(text: str) -> None:
    print(text, file=sys.stdout, flush=True)
