"""The public trial context: what a trainable learns from the pipeline, and how it reports.

A function trainable written for mftune asks for its context::

    from pipeline import trial_context

    def train(config):
        ctx = trial_context()
        train_idx, val_idx = ctx.split(y)          # this stage's rows, or this CV fold's
        for epoch in range(start, ctx.max_epochs):  # this stage's epochs
            ...
            ctx.report({"val_accuracy": acc}, state={"model": model.state_dict(), "epoch": epoch})

Everything a trial is given lives here, in one place for the user's trainables and
the built-in tasks alike: the stage's fidelity (``data_fraction``, ``resolution``,
``max_epochs`` and the user's own ``knobs``), the cross-validation fold (``fold``, and
:meth:`TrialContext.split`, which returns nested, stratified, seed-stable rows), the
seed, the device Ray gave the trial, and reporting with a checkpoint / resuming from
one. The pipeline binds the context into the trainable (:func:`bind`), never into the
trial's configuration, so a searcher only ever sees hyperparameters and a plain Ray
Tune trainable that never calls :func:`trial_context` runs exactly as before.

Outside the pipeline :func:`trial_context` still answers, with full fidelity, no fold
and seed 0: inside a plain ``Tuner`` its ``report`` goes to ``tune.report``; in a
plain Python call (a test, a notebook) it keeps the reports in ``ctx.reports``.

Which names a trial reads is logged (``pipeline.context_log``) only for the names the
pipeline watches (declared knobs; the fold when the experiment has CV), so the driver
can warn about a knob nobody reads and refuse CV of a trainable that ignores its fold.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.fidelity import Fidelity, Fold

#: config keys of a cross-validation trial (its fold, and which finalist it scores); the
#: bound trainable takes them out of the config and hands the fold over in the context
CV_FOLD_KEY, CV_FINALIST_KEY = "cv_fold", "cv_finalist"
#: the name a read of the fold is logged under
FOLD = "fold"
_STATE_FILE = "state.pt"

__all__ = [
    "CV_FINALIST_KEY",
    "CV_FOLD_KEY",
    "ContextSetup",
    "Fidelity",
    "Fold",
    "TrialContext",
    "bind",
    "call_in_context",
    "trial_context",
]


@dataclass(frozen=True)
class ContextSetup:
    """What the pipeline binds into a trainable for one stage (or the CV run)."""

    fidelity: Fidelity = Fidelity()
    seed: int = 0
    stage: str = ""
    cv_folds: int = 0  # > 0: each trial's config names its fold (CV_FOLD_KEY)
    cpus: float = 1.0
    #: names whose first read is logged, e.g. ("data_fraction", "n_estimators", "fold")
    watch: tuple[str, ...] = ()
    log_path: str | None = None  # <experiment>/context.jsonl
    #: where checkpoints are staged before Ray takes them (None: the system's temp
    #: directory); the pipeline uses <experiment>/.mftune-tmp, emptied at every start, so
    #: a killed driver's leftovers never outlive the experiment
    scratch_dir: str | None = None
    #: the refit of the winner (``pipeline.refit``): ``split`` gives every row to train on
    refit: bool = False


@dataclass
class TrialContext:
    """One trial's view of the pipeline. Get it with :func:`trial_context`."""

    setup: ContextSetup = field(default_factory=ContextSetup)
    _fold: Fold | None = None
    #: standalone use outside Ray: every ``report`` lands here as (metrics, state)
    reports: list[tuple[dict[str, Any], Any]] = field(default_factory=list)
    _read: set[str] = field(default_factory=set)
    _trial_id: str | None = None

    # ------------------------------------------------------------------ fidelity
    @property
    def data_fraction(self) -> float:
        """Share of the training rows this stage trains on, in (0, 1]."""
        self._mark("data_fraction")
        return self.setup.fidelity.data_fraction

    @property
    def resolution(self) -> int | None:
        """Image side this stage asks for; None: the data's native resolution."""
        self._mark("resolution")
        return self.setup.fidelity.resolution

    @property
    def max_epochs(self) -> int:
        """Epochs (reported iterations) this stage gives a trial; Tune also stops it there."""
        self._mark("max_epochs")
        return self.setup.fidelity.max_epochs

    @property
    def knobs(self) -> dict[str, Any]:
        """Every knob the stage declares under ``knobs:`` (reading them all counts as reading each)."""
        for name, _ in self.setup.fidelity.knobs:
            self._mark(name)
        return dict(self.setup.fidelity.knobs)

    def knob(self, name: str, default: Any = None) -> Any:
        """One of the stage's own knobs (``knobs: {n_estimators: 200}``), or ``default``."""
        self._mark(name)
        return dict(self.setup.fidelity.knobs).get(name, default)

    @property
    def fidelity(self) -> Fidelity:
        """The whole fidelity level (reads every knob)."""
        for name in ("data_fraction", "resolution", "max_epochs", *(n for n, _ in self.setup.fidelity.knobs)):
            self._mark(name)
        return self.setup.fidelity

    # ------------------------------------------------------------------------ CV
    @property
    def fold(self) -> Fold | None:
        """The cross-validation fold (``index``, ``n_folds``) this trial scores, or None in a stage."""
        self._mark(FOLD)
        return self._fold

    def split(self, y: Any, val_fraction: float = 0.2, stratify: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Sorted (train, validation) row positions into the labels ``y`` for this trial.

        In a stage: a fixed holdout of ``val_fraction`` of the rows (it depends only on the
        seed, never on the fidelity), with the training rows cut to ``data_fraction`` as a
        nested subset (the 10 % rows are inside the 30 % rows). In cross-validation: every
        row (cut to ``data_fraction``) split into ``n_folds`` folds, and this trial's fold
        is the validation part. Stratified by class unless ``y`` is float (regression);
        ``stratify`` overrides that. The same rules the built-in tasks use. In the refit
        of the winner (``stage == "refit"``): every row to train on, none to validate.
        """
        from pipeline.tasks.data import trial_rows

        labels = np.asarray(y)
        if labels.ndim != 1:
            raise ValueError(f"split needs a 1-d label array, got shape {labels.shape}")
        if self.setup.refit:
            self._mark(FOLD)
            return np.arange(len(labels)), np.arange(0)
        if stratify is None:
            stratify = not np.issubdtype(labels.dtype, np.floating)
        strata = labels if stratify else np.zeros(len(labels))
        return trial_rows(strata, val_fraction, self.data_fraction, self.seed, self.fold, stratify=stratify)

    # ---------------------------------------------------------------- the trial
    @property
    def seed(self) -> int:
        """The experiment's seed: the same in every stage, so splits and initial weights match."""
        return self.setup.seed

    @property
    def stage(self) -> str:
        """Name of the running stage (``cv`` in cross-validation; empty outside the pipeline)."""
        return self.setup.stage

    @property
    def cpus(self) -> float:
        """CPUs Ray reserved for this trial (e.g. for ``torch.set_num_threads``)."""
        return self.setup.cpus

    @property
    def device(self):
        """``cuda:0`` when Ray gave this trial a GPU, else ``cpu``.

        (CPU-only trials have CUDA_VISIBLE_DEVICES unset, so ``torch.cuda.is_available()``
        alone would lie; Ray narrows the visible devices to the assigned ones.)"""
        import torch

        try:
            import ray

            gpu_ids = ray.get_gpu_ids() if ray.is_initialized() else []
        except Exception:
            gpu_ids = []
        if gpu_ids and torch.cuda.is_available():
            return torch.device("cuda", 0)
        return torch.device("cpu")

    # --------------------------------------------------------------- reporting
    def report(self, metrics: Mapping[str, Any], state: Any = None) -> None:
        """Report one iteration's metrics, with ``state`` (any picklable object: state
        dicts, a fitted estimator, the epoch) saved as the trial's checkpoint."""
        tune = _tune_session()
        if tune is None:
            self.reports.append((dict(metrics), state))
            return
        if state is None:
            tune.report(dict(metrics))
            return
        import torch

        scratch = self.setup.scratch_dir
        if scratch is not None:
            os.makedirs(scratch, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="mftune-ckpt-", dir=scratch) as d:
            torch.save(state, os.path.join(d, _STATE_FILE))
            tune.report(dict(metrics), checkpoint=tune.Checkpoint.from_directory(d))

    def load_state(self) -> Any:
        """The ``state`` of the checkpoint this trial resumes from (a paused, retried or
        restored trial), or None for a fresh start."""
        tune = _tune_session()
        if tune is None:
            return None  # a plain call always starts fresh
        checkpoint = tune.get_checkpoint()
        if checkpoint is None:
            return None
        import torch

        with checkpoint.as_directory() as d:
            path = os.path.join(d, _STATE_FILE)
            if not os.path.isfile(path):
                return None  # a checkpoint the trainable wrote itself, not through report()
            return torch.load(path, map_location=self.device, weights_only=False)  # the trial's own file

    # ------------------------------------------------------------------ internal
    def _mark(self, name: str) -> None:
        if name in self._read:
            return
        self._read.add(name)
        if name in self.setup.watch and self.setup.log_path:
            from pipeline.context_log import log_read

            log_read(self.setup.log_path, self.setup.stage, self._trial_id, name)


_CURRENT: TrialContext | None = None


def trial_context() -> TrialContext:
    """The running trial's context; outside the pipeline, a full-fidelity one (seed 0, no fold)."""
    global _CURRENT
    if _CURRENT is None:
        _CURRENT = TrialContext()
    return _CURRENT


def bind(fn: Callable[[dict[str, Any]], Any], setup: ContextSetup, name: str | None = None) -> Callable:
    """``fn`` as a single-argument Ray trainable that runs inside a context made from ``setup``.

    A CV trial's config carries its fold and finalist (so they are part of what Ray saves
    and restores); they are taken out here and the fold goes into the context, so ``fn``
    sees only hyperparameters. With watched names, a ``start`` line is logged first so the
    driver can tell "never read" from "never ran".
    """

    def trainable(config: dict[str, Any]) -> Any:
        return _run_in_context(fn, setup, config)

    label = name or getattr(fn, "__name__", "trainable")
    trainable.__name__ = trainable.__qualname__ = label
    return trainable


def call_in_context(fn: Callable[[dict[str, Any]], Any], ctx: TrialContext, config: dict[str, Any]) -> Any:
    """``fn(config)`` with ``ctx`` as what :func:`trial_context` returns (the refit's way in)."""
    global _CURRENT
    previous, _CURRENT = _CURRENT, ctx
    try:
        return fn(config)
    finally:
        _CURRENT = previous


def _run_in_context(fn: Callable[[dict[str, Any]], Any], setup: ContextSetup, config: dict[str, Any]) -> Any:
    # A module-level function on purpose: Ray pickles the closure in bind() by value,
    # with a copy of the globals it names, so a ``global _CURRENT`` there would set the
    # copy's; this function is pickled by reference and sets this module's.
    global _CURRENT
    config = dict(config)
    fold = None
    if setup.cv_folds:
        fold = Fold(int(config.pop(CV_FOLD_KEY)), setup.cv_folds)
        config.pop(CV_FINALIST_KEY, None)
    ctx = TrialContext(setup, fold, _trial_id=_trial_id())
    if setup.watch and setup.log_path:
        from pipeline.context_log import log_start

        log_start(setup.log_path, setup.stage, ctx._trial_id)
    previous, _CURRENT = _CURRENT, ctx
    try:
        return fn(config)
    finally:
        _CURRENT = previous


def _tune_session():
    """``ray.tune`` when called inside a Tune trial, else None."""
    try:
        from ray import tune
    except ImportError:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Ray warns when asked outside a trial
        try:
            inside = tune.get_context().get_trial_id() is not None
        except Exception:
            inside = False
    return tune if inside else None


def _trial_id() -> str | None:
    tune = _tune_session()
    return tune.get_context().get_trial_id() if tune is not None else None
