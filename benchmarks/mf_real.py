"""Real learning curves for benchmarks/mf_quality.py: the built-in tasks, trained for real.

:class:`RealCurveProblem` has the interface of ``benchmarks.mf_hard.CurveProblem`` (what
the simulated controller, the peers' loops and ``incumbent_regret`` read), so every row of
mf_quality runs on it unchanged, ours on the emulated Ray trial loop and Optuna's and
DEHB's in their own loops. Only the learning curve is real:

* ``value(config, r, seed)``: the validation error (1 - ``val_accuracy``) after epoch ``r``
  of training ``config`` with the pipeline's own training (``Task.fit`` in a trial
  context, seed ``seed``: its holdout split, initial weights and batch order). Training
  state is kept after each epoch, so epoch ``r + 1`` continues from epoch ``r`` as a
  resumed Ray trial does from its checkpoint; the curve is the same either way
  (``train_epochs`` seeds every epoch on its own). A diverged run's error is 1.
* ``final(config)``: the mean validation error at full fidelity over ``FINAL_SEEDS`` fresh
  trainings (their own splits and weights). It scores an incumbent without the luck of
  the run's own seed, as a noiseless objective does on the simulated problems; its
  trainings are the measurement and count against no method's epochs.
* ``optimum`` is 0 (unknown); mf_quality's report measures regret from the best
  ``final`` any logged run reached on the problem (:func:`relative_to_best`).

Cost: every (configuration, seed) is trained once per process, whichever row asks (the
rows' random start-ups coincide), and a request for epoch ``r`` trains on to the next
rung level (1, 3, 9, ...: a trial past a level is not stopped before the next one), so
compute stays close to the epochs the methods spend. The trial's cost metrics
(``pipeline.cost_metrics.measure``) are skipped: nothing here reads them.
"""

from __future__ import annotations

import copy
import json
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from searchers.space import Categorical, Float, Int

FINAL_SEEDS = (1001, 1002, 1003)
METRIC = "val_accuracy"
#: (configuration, seed) training states kept for continuing; an evicted one is trained
#: again from its first epoch (same numbers, more compute)
STATES_KEPT = 512


class _Enough(Exception):
    """Raised from a report once the epochs asked for are trained."""


@dataclass(eq=False)
class RealCurveProblem:
    name: str
    task: str
    space: dict[str, Any]
    max_resource: int
    data_fraction: float = 1.0
    resolution: int | None = None
    data_dir: str | None = None
    eta: int = 3
    optimum: float = 0.0
    conditional: bool = False
    _curves: dict[tuple[str, int], list[float]] = field(default_factory=dict, repr=False)
    _ended: set[tuple[str, int]] = field(default_factory=set, repr=False)  # diverged: no later epochs
    _states: OrderedDict[tuple[str, int], Any] = field(default_factory=OrderedDict, repr=False)
    _finals: dict[str, float] = field(default_factory=dict, repr=False)

    @property
    def dims(self) -> int:
        return len(self.space)

    def epoch_time(self, config: dict[str, Any]) -> float:
        """The simulated clock's epoch length: wider networks take longer, as they do."""
        return 0.5 + float(config.get("channels", 16)) / 32.0

    def value(self, config: dict[str, Any], resource: float, seed: int) -> float:
        r = min(max(int(round(float(resource))), 1), self.max_resource)
        key = (_config_key(config), int(seed))
        curve = self._curves.setdefault(key, [])
        if len(curve) < r and key not in self._ended:
            self._train(config, key, curve, self._next_level(r))
        return curve[r - 1] if r <= len(curve) else 1.0

    def final(self, config: dict[str, Any]) -> float:
        key = _config_key(config)
        if key not in self._finals:
            self._finals[key] = sum(self.value(config, self.max_resource, s) for s in FINAL_SEEDS) / len(FINAL_SEEDS)
        return self._finals[key]

    def _next_level(self, r: int) -> int:
        level = 1
        while level < r:
            level *= self.eta
        return min(level, self.max_resource)

    def _train(self, config: dict[str, Any], key: tuple[str, int], curve: list[float], until: int) -> None:
        from pipeline.context import ContextSetup, TrialContext, call_in_context
        from pipeline.fidelity import Fidelity
        from pipeline.tasks import TaskOptions, get_task
        from pipeline.trainable import run_builtin

        state = self._states.pop(key, None)
        if state is None or int(state["epoch"]) != len(curve):
            state = None
            curve.clear()
        problem = self

        class Continuing(TrialContext):
            def load_state(self) -> Any:
                return state

            def report(self, metrics: Any, state: Any = None) -> None:
                acc = metrics.get(METRIC)
                curve.append(1.0 - float(acc) if acc is not None and math.isfinite(float(acc)) else 1.0)
                if metrics.get("diverged"):
                    problem._ended.add(key)
                    return
                if len(curve) >= until:
                    problem._keep(key, copy.deepcopy(state))
                    raise _Enough

        fidelity = Fidelity(self.data_fraction, self.resolution, self.max_resource)
        ctx = Continuing(ContextSetup(fidelity=fidelity, seed=key[1], stage="mf-real", cpus=1.0))
        task, options = get_task(self.task), TaskOptions(data_dir=self.data_dir)
        with mock.patch("pipeline.cost_metrics.measure", return_value={}):
            try:
                call_in_context(lambda c: run_builtin(c, task, options), ctx, dict(config))
            except _Enough:
                pass

    def _keep(self, key: tuple[str, int], state: Any) -> None:
        self._states[key] = state
        while len(self._states) > STATES_KEPT:
            self._states.popitem(last=False)


def _config_key(config: dict[str, Any]) -> str:
    return json.dumps({k: _plain(v) for k, v in sorted(config.items())}, sort_keys=True)


def _plain(v: Any) -> Any:
    """numpy and ConfigSpace scalars as Python numbers, so equal configurations share a key."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    f = float(v)
    return int(f) if f.is_integer() and not isinstance(v, float) else f


def flat_space(channels: tuple[int, int], hidden: tuple[int, int]) -> dict[str, Any]:
    """A flat, wide space over the image tasks' SmallCNN and Adam (every peer takes it):
    learning rate over four decades, widths from tiny to large, heavy dropout allowed."""
    return {
        "lr": Float(1e-5, 1e-1, log=True),
        "batch_size": Categorical([16, 32, 64, 128]),
        "channels": Int(channels[0], channels[1], step=4),
        "hidden": Int(hidden[0], hidden[1], log=True),
        "dropout": Float(0.0, 0.7),
    }


#: family -> settings; ``@instance`` only names the run (the task's data has no instances)
REAL: dict[str, dict[str, Any]] = {
    # 4x4 px and half the rows, as benchmarks/sched_digits.py: at 8x8 most of the space
    # ends within a few images of the best (1.5 % error), so methods differ only by noise
    "digits-real": {
        "task": "digits",
        "max_resource": 27,
        "data_fraction": 0.5,
        "resolution": 4,
        "space": ((4, 32), (16, 256)),
    },
    "fashion-real": {
        "task": "fashion-mnist",
        "max_resource": 9,
        "data_fraction": 0.1,
        "resolution": 14,
        "space": ((4, 32), (16, 256)),
    },
}


def make_real(name: str, instance: int = 0, data_dir: str | None = None) -> RealCurveProblem:
    spec = dict(REAL[name])
    channels, hidden = spec.pop("space")
    return RealCurveProblem(f"{name}@{instance}", space=flat_space(channels, hidden), data_dir=data_dir, **spec)


def relative_to_best(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Real problems' curves hold final errors; make them regrets against the best final
    any logged run of the problem reached (the simulated problems' are regrets already)."""
    best: dict[str, float] = {}
    for e in entries:
        if e.get("real") and e["curve"]:
            best[e["problem"]] = min(best.get(e["problem"], math.inf), min(g for _, g in e["curve"]))
    out = []
    for e in entries:
        if e.get("real") and e["problem"] in best:
            e = {**e, "curve": [(x, g - best[e["problem"]]) for x, g in e["curve"]]}
        out.append(e)
    return out
