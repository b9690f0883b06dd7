"""The trainable a stage (or the CV run) hands to Ray, and what its trials' reads tell.

Built-in task or ``module:function``, the driver does the same thing: it binds a
:class:`pipeline.context.ContextSetup` (the stage's fidelity, the seed, the number of
folds) into the trainable, and afterwards reads which watched names the trials read
(``pipeline.context_log``):

* a knob the stage declares (``data_fraction`` below 1, ``resolution``, anything under
  ``knobs``) that no trial read is reported once, as a warning: likely a typo, or a
  trainable that ignores it (the stage then ran at a fidelity it never had);
* in an experiment with cross-validation, trials that never read their fold (neither
  ``trial_context().fold`` nor ``trial_context().split(y)``) are an error, raised after
  the first stage that shows it, before CV runs: every fold would train and validate
  on the same rows and the CV scores would mean nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from pipeline.context import FOLD, ContextSetup, bind
from pipeline.context_log import CONTEXT_FILE, unread
from pipeline.errors import UsageError
from pipeline.fidelity import Fidelity
from pipeline.layout import SCRATCH


def declared(fidelity: Fidelity) -> tuple[str, ...]:
    """The fidelity names a trainable is expected to read (max_epochs is enforced by Tune)."""
    names = ["data_fraction"] if fidelity.data_fraction != 1.0 else []
    names += ["resolution"] if fidelity.resolution is not None else []
    return (*names, *(n for n, _ in fidelity.knobs))


def stage_trainable(cfg: Any, fidelity: Fidelity, stage: str, cv_folds: int = 0) -> Callable[[dict[str, Any]], Any]:
    from pipeline.tasks import load_custom_trainable
    from pipeline.trainable import builtin_trainable

    fn = load_custom_trainable(cfg.task) if cfg.custom else builtin_trainable(cfg.task, cfg.options)
    watch = declared(fidelity) + ((FOLD,) if cfg.cv is not None else ())
    setup = ContextSetup(
        fidelity=fidelity,
        seed=cfg.seed,
        stage=stage,
        cv_folds=cv_folds,
        cpus=cfg.cpus_per_trial,
        watch=watch,
        log_path=str(cfg.output / CONTEXT_FILE),
        scratch_dir=str(cfg.output / SCRATCH),
    )
    return bind(fn, setup, name=getattr(fn, "__name__", None))


def check_reads(cfg: Any, stage: str, fidelity: Fidelity, where: str, warned: set[str]) -> None:
    """Warn about unread declared knobs (each once per driver); raise when CV's fold is ignored."""
    names = declared(fidelity)
    missing = unread(cfg.output / CONTEXT_FILE, stage, names + ((FOLD,) if cfg.cv is not None else ()))
    if missing is None:
        return
    if FOLD in missing:
        raise UsageError(
            "cv",
            f"{cfg.task} never reads its fold (trial_context().fold or trial_context().split(y)), so every "
            "fold would train and validate on the same rows; read it, or drop cv (docs/own-model.md)",
        )
    for name in missing:
        if name in warned:
            continue
        warned.add(name)
        key = name if name in ("data_fraction", "resolution") else f"knobs.{name}"
        accessor = f"trial_context().{name}" if key == name else f'trial_context().knob("{name}")'
        print(
            f"mftune: warning: {where + '.' if where else ''}{key}: no trial of stage {stage} read it ({accessor}); "
            "a typo, or a trainable that ignores it?",
            file=sys.stderr,
            flush=True,
        )
