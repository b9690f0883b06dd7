"""What a trained model costs to keep and to run: ``params``, ``flops``, ``latency_ms``.

Every built-in torch task reports the three with every result, so they can be
objectives or constraints (``pipeline.objectives``). They are measured once per trial,
before the first epoch: the architecture fixes them, training does not change them.

* ``params``: trainable parameters (``requires_grad``), the model's size.
* ``flops``: floating-point operations of one forward pass of ONE sample, counted by
  torch's own ``torch.utils.flop_counter.FlopCounterMode`` (a multiply-add counts 2;
  it counts convolutions and matrix products, not elementwise ops such as ReLU or
  batch norm). At the trial's fidelity: a 4x4 stage's FLOPs are those of 4x4 inputs.
* ``latency_ms``: median wall time of one forward pass of a fixed batch
  (:data:`LATENCY_BATCH` samples of the trial's input shape) in eval mode without
  gradients, on the trial's device, after :data:`WARMUP` untimed passes; the median
  of :data:`REPEATS` timed passes. On a shared CPU it moves with the machine's load
  (docs/pipeline.md gives the measured spread): a constraint on it should leave slack.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

LATENCY_BATCH = 64
WARMUP = 3
REPEATS = 10


def count_params(model: nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


@torch.no_grad()
def count_flops(model: nn.Module, sample: torch.Tensor) -> int:
    """FLOPs of ``model`` on one sample (``sample`` has a batch axis of length 1)."""
    was_training = model.training
    model.eval()
    try:
        with FlopCounterMode(display=False) as counter:
            model(sample)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())


def median_ms(
    call: Callable[[], Any], sync: Callable[[], None] | None = None, warmup: int = WARMUP, repeats: int = REPEATS
) -> float:
    """Median wall time of ``call`` in milliseconds, after ``warmup`` untimed calls."""
    sync = sync or (lambda: None)
    for _ in range(warmup):
        call()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        sync()
        times.append((time.perf_counter() - start) * 1e3)
    return float(statistics.median(times))


@torch.no_grad()
def latency_ms(model: nn.Module, batch: torch.Tensor, warmup: int = WARMUP, repeats: int = REPEATS) -> float:
    was_training = model.training
    model.eval()
    device = batch.device
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else None
    try:
        return median_ms(lambda: model(batch), sync, warmup, repeats)
    finally:
        model.train(was_training)


def fixed_batch(x: np.ndarray, size: int = LATENCY_BATCH) -> np.ndarray:
    """``size`` rows of the trial's inputs (repeated when there are fewer): the same
    shape for every trial of a fidelity, so latencies compare."""
    if len(x) == 0:
        raise ValueError("no inputs to time the model on")
    reps = -(-size // len(x))
    return np.concatenate([x] * reps)[:size] if reps > 1 else x[:size]


def measure(model: nn.Module, x: np.ndarray, device: torch.device | str = "cpu") -> dict[str, Any]:
    """``params``, ``flops`` (per sample) and ``latency_ms`` of ``model`` on inputs like ``x``.
    The model is left on ``device`` in the train/eval state it had."""
    device = torch.device(device)
    model.to(device)
    batch = torch.as_tensor(fixed_batch(x), dtype=torch.float32, device=device)
    return {
        "params": count_params(model),
        "flops": count_flops(model, batch[:1]),
        "latency_ms": latency_ms(model, batch),
    }
