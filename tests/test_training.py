"""The shared epoch loop: per-epoch reports, checkpoints, exact resume, divergence."""

import copy

import numpy as np
import pytest
import torch

from pipeline import hparams
from pipeline.tasks import Fidelity, TaskOptions, get_task
from pipeline.training import train_epochs

TASK = get_task("digits")
FID = Fidelity(0.3, 4, 6)
CONFIG = {
    "optimizer": {"name": "adam", "lr": 3e-3, "beta1": 0.9, "weight_decay": 1e-4},
    "batch_size": 32,
    "channels": 8,
    "hidden": 32,
    "dropout": 0.3,
}


class MemorySession:
    def __init__(self, state=None):
        self.state, self.reports, self.saved = state, [], []

    def load_state(self):
        return self.state

    def report(self, metrics, state):
        self.reports.append(metrics)
        self.saved.append(copy.deepcopy(state))


def run(max_epochs, session, init_seed=0, config=CONFIG):
    data = TASK.load(TaskOptions(), FID, seed=0)
    hp = hparams.parse(config, TASK.model_keys)
    torch.manual_seed(init_seed)
    model = TASK.build_model(hp, data, FID)
    train_epochs(
        model, data, hp, classification=True, max_epochs=max_epochs, seed=0, session=session, metric="val_accuracy"
    )
    return session


def test_reports_every_epoch_with_a_checkpoint():
    s = run(3, MemorySession())
    assert [r["epoch"] for r in s.reports] == [1, 2, 3]
    assert [st["epoch"] for st in s.saved] == [1, 2, 3]
    assert all(0 <= r["val_accuracy"] <= 1 and np.isfinite(r["val_loss"]) for r in s.reports)


def test_resumed_trial_continues_at_its_epoch_and_matches_the_uninterrupted_run():
    full = run(6, MemorySession())
    first = run(3, MemorySession())
    # a fresh process: different initial weights, restored from the epoch-3 checkpoint
    resumed = run(6, MemorySession(state=first.saved[-1]), init_seed=123)
    assert [r["epoch"] for r in resumed.reports] == [4, 5, 6]
    for a, b in zip(full.reports[3:], resumed.reports):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-6)
        assert a["val_accuracy"] == pytest.approx(b["val_accuracy"], abs=1e-9)


def test_finished_checkpoint_trains_no_more():
    done = run(3, MemorySession())
    again = run(3, MemorySession(state=done.saved[-1]))
    assert again.reports == []


def test_divergence_reports_nan_and_stops():
    wild = {"optimizer": {"name": "sgd", "lr": 1e12, "momentum": 0.99}, "batch_size": 16}
    s = run(6, MemorySession(), config=wild)
    assert len(s.reports) < 6 and s.reports[-1]["diverged"] and np.isnan(s.reports[-1]["val_accuracy"])


def test_global_torch_rng_is_left_alone():
    torch.manual_seed(42)
    data = TASK.load(TaskOptions(), FID, seed=0)
    hp = hparams.parse(CONFIG, TASK.model_keys)
    model = TASK.build_model(hp, data, FID)  # consumes the global stream (init), like any torch code
    state = torch.random.get_rng_state()
    train_epochs(
        model, data, hp, classification=True, max_epochs=1, seed=0, session=MemorySession(), metric="val_accuracy"
    )
    assert torch.equal(torch.random.get_rng_state(), state)
