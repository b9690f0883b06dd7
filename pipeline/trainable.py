"""The Ray Tune function trainable behind every built-in task.

A built-in task is a trainable like a user's: it learns its fidelity, fold, seed and
device from the public trial context (``pipeline.context``), loads the data on the
worker, and hands :func:`pipeline.training.train_epochs` the context as its session
(``report`` with a checkpoint, ``load_state`` to resume). ``RaySession`` and
``pick_device`` remain for scripts that drive the epoch loop without the pipeline.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

import torch

from pipeline.context import CV_FINALIST_KEY, CV_FOLD_KEY, ContextSetup, bind, trial_context
from pipeline.tasks import get_task
from pipeline.tasks.base import Task, TaskOptions, TrialSetup

_STATE_FILE = "state.pt"
__all__ = ["CV_FINALIST_KEY", "CV_FOLD_KEY", "RaySession", "builtin_trainable", "make_trainable", "pick_device"]


class RaySession:
    """:class:`pipeline.training.Session` over Ray Tune's checkpoint API."""

    def __init__(self, device: torch.device, scratch_dir: str | None = None):
        self.device = device
        self.scratch_dir = scratch_dir

    def load_state(self) -> dict[str, Any] | None:
        from ray import tune

        checkpoint = tune.get_checkpoint()
        if checkpoint is None:
            return None
        with checkpoint.as_directory() as d:
            return torch.load(os.path.join(d, _STATE_FILE), map_location=self.device, weights_only=True)

    def report(self, metrics: dict[str, Any], state: dict[str, Any]) -> None:
        from ray import tune

        if self.scratch_dir is not None:
            os.makedirs(self.scratch_dir, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="mftune-ckpt-", dir=self.scratch_dir) as d:
            torch.save(state, os.path.join(d, _STATE_FILE))
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(d))


def pick_device() -> torch.device:
    import ray

    gpu_ids = ray.get_gpu_ids() if ray.is_initialized() else []
    if gpu_ids and torch.cuda.is_available():
        return torch.device("cuda", 0)  # Ray narrows CUDA_VISIBLE_DEVICES to the assigned GPUs
    return torch.device("cpu")


def builtin_trainable(task_name: str, options: TaskOptions) -> Callable[[dict[str, Any]], None]:
    """The function trainable of a built-in task, with only the task's own settings (where
    its data is) bound in. Everything about the trial (fidelity, fold, seed, device,
    checkpoints) it reads from the public :func:`pipeline.trial_context`, exactly as a
    user's trainable does; the pipeline binds that context around it (``context.bind``)."""

    def trainable(config: dict[str, Any]) -> None:
        run_builtin(config, get_task(task_name), options)

    trainable.__name__ = trainable.__qualname__ = f"mftune_{task_name.replace('-', '_')}"
    return trainable


def run_builtin(config: dict[str, Any], task: Task, options: TaskOptions) -> None:
    """Train one configuration of a built-in task, reporting every epoch through the context."""
    ctx = trial_context()
    torch.set_num_threads(max(1, int(ctx.cpus)))
    hp = task.parse_hparams(config)
    task.fit(hp, task.load_for(options, ctx), options, ctx)


def make_trainable(setup: TrialSetup) -> Callable[[dict[str, Any]], None]:
    """A built-in task's trainable with a whole :class:`TrialSetup` bound (for scripts and
    tests that run one Tuner without the pipeline)."""
    fn = builtin_trainable(setup.task, setup.options)
    context = ContextSetup(
        setup.fidelity, setup.seed, cv_folds=setup.cv_folds, cpus=setup.cpus_per_trial, scratch_dir=setup.scratch_dir
    )
    return bind(fn, context, name=fn.__name__)
