"""The epoch loop every built-in task shares: report each epoch, checkpoint, resume.

A trial that is paused, preempted or retried continues at the epoch after its last
checkpoint and trains on exactly the batches the uninterrupted run would have seen:
shuffling and dropout are seeded by (seed, epoch), not by how often the process ran.
The loop talks to Ray only through a :class:`Session`, so tests drive it directly.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from pipeline.hparams import make_optimizer
from pipeline.tasks.data import ArrayData

_EVAL_BATCH = 4096


class Session(Protocol):
    def load_state(self) -> dict[str, Any] | None:
        """The state of the last checkpoint, or None for a fresh start."""

    def report(self, metrics: dict[str, Any], state: dict[str, Any]) -> None:
        """Publish one epoch's metrics together with a checkpoint of ``state``."""


class Recorder:
    """A :class:`Session` for a refit: always a fresh start, no checkpoints, the last metrics kept."""

    def __init__(self) -> None:
        self.last: dict[str, Any] = {}

    def load_state(self) -> dict[str, Any] | None:
        return None

    def report(self, metrics: dict[str, Any], state: dict[str, Any]) -> None:
        self.last = dict(metrics)


def train_epochs(
    model: nn.Module,
    data: ArrayData,
    hp: dict[str, Any],
    *,
    classification: bool,
    max_epochs: int,
    seed: int,
    session: Session,
    metric: str,
    device: torch.device | str = "cpu",
    y_scale: float = 1.0,
    extra_metrics: dict[str, Any] | None = None,
) -> None:
    """Train ``model`` for up to ``max_epochs`` epochs, reporting after each one.

    Regression targets are expected standardised; ``y_scale`` (their std) turns the
    validation RMSE back into original units. A non-finite training loss ends the
    trial with the metric reported as NaN, which searchers record as a failure.
    """
    device = torch.device(device)
    model.to(device)
    optimizer = make_optimizer(hp, model.parameters())
    start = 0
    state = session.load_state()
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start = int(state["epoch"])

    x_tr = torch.as_tensor(data.x_train, dtype=torch.float32, device=device)
    x_va = torch.as_tensor(data.x_val, dtype=torch.float32, device=device)
    y_dtype = torch.long if classification else torch.float32
    y_tr = torch.as_tensor(data.y_train, dtype=y_dtype, device=device)
    y_va = torch.as_tensor(data.y_val, dtype=y_dtype, device=device)
    loss_fn = nn.CrossEntropyLoss() if classification else nn.MSELoss()
    batch = int(hp["batch_size"])
    n = len(x_tr)

    for epoch in range(start + 1, max_epochs + 1):
        order = torch.as_tensor(np.random.default_rng([seed, epoch]).permutation(n), device=device)
        model.train()
        total, seen = 0.0, 0
        with torch.random.fork_rng(devices=[]):  # dropout noise seeded per epoch, global state untouched
            torch.manual_seed(seed * 100_003 + epoch)
            for i in range(0, n, batch):
                idx = order[i : i + batch]
                out = model(x_tr[idx])
                loss = loss_fn(out if classification else out.squeeze(-1), y_tr[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(idx)
                seen += len(idx)
        train_loss = total / max(seen, 1)
        metrics = {"epoch": epoch, "train_loss": train_loss, **(extra_metrics or {})}
        if not math.isfinite(train_loss):
            metrics.update({metric: float("nan"), "diverged": True})
            session.report(metrics, _state(model, optimizer, epoch))
            return
        if len(x_va):  # a refit trains on every row and has none to validate on
            metrics.update(evaluate(model, x_va, y_va, classification, loss_fn, y_scale))
        session.report(metrics, _state(model, optimizer, epoch))


def _state(model: nn.Module, optimizer: torch.optim.Optimizer, epoch: int) -> dict[str, Any]:
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}


@torch.no_grad()
def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, classification: bool, loss_fn: nn.Module, y_scale: float = 1.0
) -> dict[str, float]:
    model.eval()
    outs = [model(x[i : i + _EVAL_BATCH]) for i in range(0, len(x), _EVAL_BATCH)]
    out = torch.cat(outs) if outs else torch.empty(0)
    if classification:
        return {"val_loss": float(loss_fn(out, y)), "val_accuracy": float((out.argmax(dim=1) == y).float().mean())}
    pred = out.squeeze(-1)
    mse = float(loss_fn(pred, y))
    var = float(((y - y.mean()) ** 2).mean())
    return {
        "val_loss": mse,
        "val_rmse": math.sqrt(mse) * y_scale,
        "val_r2": 1.0 - mse / var if var > 0 else float("nan"),
    }
