"""The Ray Tune function trainable behind every built-in task.

It is the only place where a task meets Ray: it picks the device from the GPUs Ray
assigned (``ray.get_gpu_ids()``: CPU-only trials have CUDA_VISIBLE_DEVICES unset, so
``torch.cuda.is_available()`` would lie), loads the data on the worker, and bridges
:func:`pipeline.training.train_epochs` to ``tune.report`` / ``tune.get_checkpoint``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

import torch

from pipeline import hparams
from pipeline.tasks import get_task
from pipeline.tasks.base import TrialSetup
from pipeline.tasks.data import Fold
from pipeline.training import train_epochs

_STATE_FILE = "state.pt"
#: config keys of a cross-validation trial: which fold, and which finalist it scores
CV_FOLD_KEY, CV_FINALIST_KEY = "cv_fold", "cv_finalist"


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


def run_trial(config: dict[str, Any], setup: TrialSetup) -> None:
    """Train one configuration of a built-in task, reporting every epoch.

    In a cross-validation run (``setup.cv_folds``) the config also names its fold and
    finalist; the fold selects the rows, the rest are the hyperparameters.
    """
    task = get_task(setup.task)
    torch.set_num_threads(max(1, int(setup.cpus_per_trial)))
    fold = None
    if setup.cv_folds:
        config = dict(config)
        fold = Fold(int(config.pop(CV_FOLD_KEY)), setup.cv_folds)
        config.pop(CV_FINALIST_KEY, None)
    hp = hparams.parse(config, task.model_keys)
    device = pick_device()
    data = task.load(setup.options, setup.fidelity, setup.seed, fold)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(setup.seed)  # the same configuration starts from the same weights
        model = task.build_model(hp, data, setup.fidelity)
    metric, _ = task.metric(setup.options)
    extra = {"n_train": len(data.y_train), "input_shape": "x".join(map(str, data.x_train.shape[1:]))}
    train_epochs(
        model,
        data,
        hp,
        classification=task.is_classification(setup.options),
        max_epochs=setup.fidelity.max_epochs,
        seed=setup.seed,
        session=RaySession(device, setup.scratch_dir),
        metric=metric,
        device=device,
        y_scale=data.y_scale,
        extra_metrics=extra,
    )


def make_trainable(setup: TrialSetup) -> Callable[[dict[str, Any]], None]:
    """A picklable single-argument trainable with ``setup`` bound (named for trial names)."""

    def trainable(config: dict[str, Any]) -> None:
        run_trial(config, setup)

    trainable.__name__ = trainable.__qualname__ = f"mftune_{setup.task.replace('-', '_')}"
    return trainable
