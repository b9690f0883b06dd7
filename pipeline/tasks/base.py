"""What a built-in task is: data behind fidelity knobs, a model family, a metric.

Tasks are plain objects; the Ray function trainable in ``pipeline.trainable`` drives
them. ``check`` runs on the driver before anything starts (so a missing file is a
usage error, not a failed trial); ``load`` runs on the worker, where the data lives.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from torch import nn

from pipeline import hparams
from pipeline.errors import UsageError
from pipeline.fidelity import Fidelity
from pipeline.models import SmallCNN
from pipeline.tasks.data import ArrayData, Fold, downsample

if TYPE_CHECKING:
    from pipeline.context import TrialContext
    from pipeline.model import Model


def optimizer_choice(adam_lr_high: float = 3e-2) -> dict[str, Any]:
    """The optimizer branch every built-in default space shares (YAML form): SGD with its
    momentum, or Adam with its beta1 and weight decay; each branch has its own lr range
    because the two want learning rates an order of magnitude apart."""
    return {
        "type": "categorical",
        "choices": [
            {
                "name": "sgd",
                "lr": {"type": "float", "low": 1e-3, "high": 0.3, "log": True},
                "momentum": {"type": "float", "low": 0.0, "high": 0.99},
            },
            {
                "name": "adam",
                "lr": {"type": "float", "low": 1e-4, "high": adam_lr_high, "log": True},
                "beta1": {"type": "float", "low": 0.8, "high": 0.99},
                "weight_decay": {"type": "float", "low": 1e-6, "high": 1e-2, "log": True},
            },
        ],
    }


@dataclass(frozen=True)
class TaskOptions:
    """Where a task's data is; each task reads the fields it needs."""

    data_dir: str | None = None  # fashion-mnist: directory with the IDX files
    data_path: str | None = None  # tabular: CSV or Parquet file
    target: str | None = None  # tabular: target column
    problem: str | None = None  # tabular: classification | regression (None: infer)


@dataclass(frozen=True)
class TrialSetup:
    """A built-in task's trial settings in one object, for scripts and tests that run one
    Tuner without the pipeline (``pipeline.trainable.make_trainable`` turns it into the
    task's own settings plus a bound trial context)."""

    task: str
    options: TaskOptions
    fidelity: Fidelity
    seed: int
    cpus_per_trial: float = 1.0
    #: > 0: a cross-validation run; each trial's config names its fold (``cv_fold``)
    cv_folds: int = 0
    #: where trials stage their checkpoints before Ray takes them (None: the system's
    #: temp directory); the pipeline uses ``<experiment>/.mftune-tmp``, which it empties
    #: at every start, so a killed driver's leftovers never outlive the experiment
    scratch_dir: str | None = None


class Task:
    name: str = ""
    #: model hyperparameters beyond the optimizer's and batch_size
    model_keys: tuple[str, ...] = ()
    default_max_epochs: int = 15
    #: the TaskOptions settings this task reads (the others are refused for it, not ignored)
    options: tuple[str, ...] = ()

    def metric(self, options: TaskOptions) -> tuple[str, str]:
        return "val_accuracy", "max"

    def is_classification(self, options: TaskOptions) -> bool:
        return True

    def default_space(self) -> dict[str, Any]:
        raise NotImplementedError

    def named_spaces(self) -> dict[str, dict[str, Any]]:
        """Search spaces a config may name (``search_space: NAME``); ``default`` is today's."""
        return {"default": self.default_space()}

    def space_for(self, multi_objective: bool) -> dict[str, Any]:
        """The space when the config gives none: ``arch`` for a multi-objective run where
        the task has one (size and speed need a shape to trade), else ``default``."""
        spaces = self.named_spaces()
        return spaces["arch"] if multi_objective and "arch" in spaces else spaces["default"]

    def check(self, options: TaskOptions, fidelity: Fidelity) -> None:
        """Driver-side validation; raise UsageError naming the field."""

    def check_folds(self, options: TaskOptions, folds: int) -> None:
        """Whether ``folds``-fold cross-validation can split the task's labelled rows."""

    def load(self, options: TaskOptions, fidelity: Fidelity, seed: int, fold: Fold | None = None) -> ArrayData:
        """Training and validation arrays: the holdout split, or ``fold`` of the CV pool
        (what a trial context with this fidelity, seed and fold gets from :meth:`load_for`)."""
        from pipeline.context import ContextSetup, TrialContext

        return self.load_for(options, TrialContext(ContextSetup(fidelity, seed), fold))

    def load_for(self, options: TaskOptions, ctx: TrialContext) -> ArrayData:
        """The arrays a trial trains on, from nothing but its public context: the rows
        from ``ctx.split`` (holdout or fold, ``data_fraction``), ``ctx.resolution``."""
        raise NotImplementedError

    def architecture(self, hp: dict[str, Any], data: ArrayData) -> dict[str, Any]:
        """The network for ``hp`` on ``data``: ``{"class": "SmallCNN" | "MLP", "kwargs": {...}}``
        (what a saved model rebuilds before loading its weights)."""
        raise NotImplementedError

    def build_model(self, hp: dict[str, Any], data: ArrayData, fidelity: Fidelity) -> nn.Module:
        from pipeline.model import build_net

        net: nn.Module = build_net(self.architecture(hp, data))
        return net

    def refit(self, hp: dict[str, Any], options: TaskOptions, ctx: TrialContext) -> Model:
        """Train ``hp`` on the rows ``ctx.split`` gives in a refit (every labelled row) and
        return the model with what its ``predict`` needs (``pipeline.refit`` saves it)."""
        raise NotImplementedError

    def parse_hparams(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The trial's hyperparameters, defaults filled in (HyperparameterError names a bad key)."""
        return hparams.parse(config, self.model_keys)

    def fit(self, hp: dict[str, Any], data: ArrayData, options: TaskOptions, ctx: TrialContext) -> None:
        """Train and report every epoch through the context: the torch epoch loop."""
        import torch

        from pipeline.cost_metrics import measure
        from pipeline.training import train_epochs

        fidelity = Fidelity(ctx.data_fraction, ctx.resolution, ctx.max_epochs)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(ctx.seed)  # the same configuration starts from the same weights
            model = self.build_model(hp, data, fidelity)
        cost = measure(model, data.x_train, ctx.device)  # once per trial: the architecture fixes it
        train_epochs(
            model,
            data,
            hp,
            classification=self.is_classification(options),
            max_epochs=fidelity.max_epochs,
            seed=ctx.seed,
            session=ctx,
            metric=self.metric(options)[0],
            device=ctx.device,
            y_scale=data.y_scale,
            extra_metrics={**trial_facts(data), **cost},
        )


def refit_net(
    arch: dict[str, Any], data: ArrayData, hp: dict[str, Any], classification: bool, ctx: TrialContext
) -> tuple[nn.Module, float]:
    """A fresh network of ``arch`` trained on all of ``data.x_train`` for ``ctx.max_epochs``
    epochs, exactly as a trial trains (same seeding), on the CPU afterwards; and its last
    training loss. A diverged refit raises (a NaN model is no model)."""
    import torch

    from pipeline.model import build_net
    from pipeline.training import Recorder, train_epochs

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(ctx.seed)  # the weights a trial of this configuration starts from
        net = build_net(arch)
    recorder = Recorder()
    train_epochs(
        net,
        data,
        hp,
        classification=classification,
        max_epochs=ctx.max_epochs,
        seed=ctx.seed,
        session=recorder,
        metric="train_loss",
        device=ctx.device,
    )
    loss = float(recorder.last.get("train_loss", float("nan")))
    if recorder.last.get("diverged") or loss != loss:
        raise RuntimeError(f"the refit diverged (training loss {loss}); the winner trained on every row is no model")
    return net.cpu().eval(), loss


def trial_facts(data: ArrayData) -> dict[str, Any]:
    """What every built-in trial reports besides its metrics: how much data it saw, in what shape."""
    return {"n_train": len(data.y_train), "input_shape": "x".join(map(str, data.x_train.shape[1:]))}


class ImageTask(Task):
    """Square grey images, classified by :class:`SmallCNN`."""

    model_keys = ("channels", "hidden", "dropout")
    native_resolution: int = 0
    resolutions: tuple[int, ...] = ()
    val_fraction: float = 0.2

    def raw(self, options: TaskOptions) -> tuple[np.ndarray, np.ndarray]:
        """All labelled images as ``(n, 1, s, s)`` floats in [0, 1] and integer labels."""
        raise NotImplementedError

    def check(self, options: TaskOptions, fidelity: Fidelity) -> None:
        if fidelity.resolution is not None and fidelity.resolution not in self.resolutions:
            allowed = ", ".join(map(str, self.resolutions))
            raise UsageError("resolution", f"{self.name} allows {allowed}, got {fidelity.resolution}")

    def load_for(self, options: TaskOptions, ctx: TrialContext) -> ArrayData:
        resolution = ctx.resolution or self.native_resolution
        key = (self, options, resolution, ctx.data_fraction, ctx.seed, ctx.fold)
        return memo(key, lambda: _load_images(self, options, resolution, ctx))

    def named_spaces(self) -> dict[str, dict[str, Any]]:
        from pipeline.arch import arch_space

        default = self.default_space()
        return {"default": default, "arch": arch_space(default["optimizer"], default["batch_size"]["choices"])}

    def parse_hparams(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """SmallCNN's keys (channels, hidden, dropout), or the architecture space's
        (``pipeline.arch``: block, blocks, width_mult, dropout) when the config has any of those."""
        from pipeline import arch

        return arch.parse(config) if arch.is_arch(config) else super().parse_hparams(config)

    def architecture(self, hp: dict[str, Any], data: ArrayData) -> dict[str, Any]:
        if hp.get("arch"):  # the architecture space (pipeline.arch)
            arch_kwargs = {
                "resolution": int(data.x_train.shape[-1]),
                "n_classes": int(data.n_outputs),
                "hp": dict(hp),
                "in_channels": int(data.x_train.shape[1]),
            }
            return {"class": "ArchNet", "kwargs": arch_kwargs}
        kwargs = {
            "resolution": int(data.x_train.shape[-1]),
            "n_classes": int(data.n_outputs),
            "channels": int(hp["channels"]),
            "hidden": int(hp["hidden"]),
            "dropout": float(hp["dropout"]),
            "in_channels": int(data.x_train.shape[1]),
        }
        return {"class": SmallCNN.__name__, "kwargs": kwargs}

    #: normalise each colour channel on its own (else one mean and std over all pixels)
    per_channel: bool = False

    def images(self, options: TaskOptions, resolution: int) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        """Every labelled image at ``resolution`` (``(n, c, r, r)`` in [0, 1]), labels, class names."""
        x, y = self.raw(options)
        if resolution != x.shape[-1]:
            x = downsample(x, resolution)
        return x, y, list(range(int(y.max()) + 1))

    def test_images(self, options: TaskOptions) -> tuple[np.ndarray, np.ndarray] | None:
        """The task's held-out test images (raw, native size) and labels; None: it has none."""
        return None

    def refit(self, hp: dict[str, Any], options: TaskOptions, ctx: TrialContext) -> Model:
        from pipeline.model import Model

        resolution = ctx.resolution or self.native_resolution
        x, y, classes = self.images(options, resolution)
        rows, _ = ctx.split(y, self.val_fraction, stratify=True)  # in a refit: every row
        x_tr = x[rows]
        if self.per_channel:
            mean, std = x_tr.mean(axis=(0, 2, 3)), x_tr.std(axis=(0, 2, 3))
            std[std == 0] = 1.0
        else:
            mean, std = np.array([x_tr.mean()]), np.array([x_tr.std() or 1.0])
        norm = ((x_tr - mean.reshape(1, -1, 1, 1)) / std.reshape(1, -1, 1, 1)).astype(np.float32)
        data = ArrayData(norm, y[rows], norm[:0], y[:0], len(classes))
        arch = self.architecture(hp, data)
        net, train_loss = refit_net(arch, data, hp, True, ctx)
        model = Model(
            {
                "kind": "torch",
                "architecture": arch,
                "classes": classes,
                "input": {
                    "type": "images",
                    "resolution": resolution,
                    "channels": int(x.shape[1]),
                    "mean": mean.astype(float).tolist(),
                    "std": std.astype(float).tolist(),
                },
                "n_train": len(rows),
                "train_loss": train_loss,
            },
            net=net,
        )
        test = self.test_images(options)
        if test is not None:
            x_test, y_test = test
            predicted = model.predict(x_test)
            model.manifest.update(
                test_score=float(np.mean(predicted == np.asarray(classes)[y_test])),
                test_metric="accuracy",
                test_rows=len(y_test),
            )
        return model


_MEMO: OrderedDict[Any, ArrayData] = OrderedDict()
_MEMO_SIZE = 4


def memo(key: Any, make: Callable[[], ArrayData]) -> ArrayData:
    """A few trials' arrays kept per process: reused actors run many trials of one fidelity."""
    if key in _MEMO:
        _MEMO.move_to_end(key)
        return _MEMO[key]
    _MEMO[key] = value = make()
    while len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)
    return value


def _load_images(task: ImageTask, options: TaskOptions, resolution: int, ctx: TrialContext) -> ArrayData:
    x, y = task.raw(options)
    train_idx, val_idx = ctx.split(y, task.val_fraction, stratify=True)
    x_tr, x_va = x[train_idx], x[val_idx]
    if resolution != x.shape[-1]:
        x_tr, x_va = downsample(x_tr, resolution), downsample(x_va, resolution)
    mean, std = float(x_tr.mean()), float(x_tr.std()) or 1.0  # fitted on the training part only
    return ArrayData(
        ((x_tr - mean) / std).astype(np.float32),
        y[train_idx],
        ((x_va - mean) / std).astype(np.float32),
        y[val_idx],
        int(y.max()) + 1,
    )
