"""Your own PyTorch model under mftune: a small MLP on scikit-learn's wine data.

Run it (from the repository root)::

    PYTHONPATH=docs/examples python -m pipeline.run --config docs/examples/own-model-torch.yaml

Everything the pipeline decides for a trial comes from ``trial_context()``: which rows
to train and validate on (the stage's data fraction, or the cross-validation fold), how
many epochs, the seed; and ``ctx.report`` / ``ctx.load_state`` checkpoint and resume.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_wine
from torch import nn
from torch.nn import functional as F

from pipeline import trial_context


def load_data() -> tuple[np.ndarray, np.ndarray]:
    """Your dataset: any arrays will do. Wine: 178 rows, 13 features, 3 classes."""
    x, y = load_wine(return_X_y=True)
    return x.astype(np.float32), y.astype(np.int64)


def train(config: dict) -> None:
    ctx = trial_context()
    x, y = load_data()
    train_idx, val_idx = ctx.split(y)  # this stage's rows (holdout, data_fraction) or this CV fold
    mean, std = x[train_idx].mean(axis=0), x[train_idx].std(axis=0) + 1e-8  # fitted on training rows only
    x = (x - mean) / std
    x_tr, y_tr = torch.from_numpy(x[train_idx]), torch.from_numpy(y[train_idx])
    x_va, y_va = torch.from_numpy(x[val_idx]), torch.from_numpy(y[val_idx])

    with torch.random.fork_rng():  # seeded initial weights, global random state untouched
        torch.manual_seed(ctx.seed)
        model = nn.Sequential(nn.Linear(x.shape[1], config["hidden"]), nn.ReLU(), nn.Linear(config["hidden"], 3))
    optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"])

    start = 0
    state = ctx.load_state()  # a paused, retried or resumed trial continues where it stopped
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start = state["epoch"]

    batch = int(config["batch_size"])
    for epoch in range(start + 1, ctx.max_epochs + 1):
        model.train()
        order = torch.randperm(len(x_tr), generator=torch.Generator().manual_seed(ctx.seed * 1000 + epoch))
        for i in range(0, len(order), batch):
            idx = order[i : i + batch]
            loss = F.cross_entropy(model(x_tr[idx]), y_tr[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(x_va).argmax(dim=1) == y_va).float().mean().item()
        ctx.report(
            {"val_accuracy": accuracy, "train_loss": loss.item(), "n_train": len(train_idx)},
            state={"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch},
        )
