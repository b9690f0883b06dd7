"""Runs shared by the ``auto`` benchmarks: methods by name, a timed protocol, a resumable log.

Every method is driven through one ask/tell interface (``benchmarks.tpe_drivers``):
mftune's searchers through their Ray ``Searcher`` callbacks (no Ray started), Optuna's
samplers through ``study.ask``/``tell``, hyperopt's ``tpe.suggest`` on a ``Trials``
object. Method names:

* ``auto``, ``gp``, ``tpe``: mftune's ``AutoSearcher``, ``GPSearcher``, ``TPESearcher``
  with their defaults;
* ``switch@K``: ``AutoSearcher(switch_after=K)``, the GP for the first K trials, then TPE
  (what ``benchmarks/auto_switch.py`` compares to choose the rule);
* ``gp-yj``: ``AutoSearcher`` with the GP throughout and ``loss_warping="yeo-johnson"``
  (the ``gp`` of ``benchmarks/auto_switch.py`` but for the losses' power transform);
* ``gp-yj-m0``: ``gp-yj`` with the GP's constant mean held at 0 (``prior_mean="zero"``);
* ``gp-yj-alt``: the same as ``gp-yj``, the transform on every other suggestion only (a check of
  whether the plain model's suggestions keep the warped one from settling in one basin);
* ``optuna-tpe``, ``optuna-gp``: ``TPESampler(seed=...)`` / ``GPSampler(seed=...)``;
* ``hyperopt-tpe``: hyperopt's ``tpe.suggest`` with its defaults.

Each finished run is one JSON line appended to the log at once (``append_run``), keyed
by (problem, method, seed, evals); ``finished`` reads it back, so a benchmark restarted
on the same log skips what it already has: the full protocol can be run in pieces.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from searchers.space import SearchSpace

BASE_METHODS = ("auto", "gp", "tpe", "gp-yj", "gp-yj-alt", "gp-yj-m0", "optuna-tpe", "optuna-gp", "hyperopt-tpe")
#: suggestions per block of the logged suggest time (ms, mean over the block)
TIME_BLOCK = 25


def check_method(name: str) -> str:
    """``name`` if it is a method, else ValueError naming what is allowed."""
    if name in BASE_METHODS:
        return name
    if name.startswith("switch@") and name[7:].isdigit():
        return name
    raise ValueError(f"unknown method {name!r}; allowed: {', '.join(BASE_METHODS)}, switch@K (K an integer)")


class AlternatingWarpDriver:
    """Drives an ``AutoSearcher`` whose GP warps the losses on odd suggestions only."""

    def __init__(self, searcher: Any):
        from benchmarks.gp_drivers import SearcherDriver

        self.inner = SearcherDriver(searcher)
        self.asked = 0

    def ask(self) -> tuple[str, dict[str, Any]]:
        self.inner.searcher.core.gp.loss_warping = "yeo-johnson" if self.asked % 2 else "none"
        self.asked += 1
        return self.inner.ask()

    def tell(self, token: str, loss: float) -> None:
        self.inner.tell(token, loss)


def make_driver(method: str, space: SearchSpace, seed: int) -> Any:
    from benchmarks.gp_drivers import SearcherDriver
    from benchmarks.tpe_drivers import HyperoptDriver, OptunaDriver

    if method == "auto":
        from searchers import AutoSearcher

        return SearcherDriver(AutoSearcher(space, metric="loss", mode="min", seed=seed))
    if method.startswith("switch@"):
        from searchers import AutoSearcher

        k = int(method[7:])
        return SearcherDriver(AutoSearcher(space, metric="loss", mode="min", seed=seed, switch_after=k))
    if method in ("gp-yj", "gp-yj-alt", "gp-yj-m0"):
        from searchers import AutoSearcher

        warped = {"loss_warping": "yeo-johnson", **({"prior_mean": "zero"} if method == "gp-yj-m0" else {})}
        gp = AutoSearcher(space, metric="loss", mode="min", seed=seed, switch_after=10**9, gp=warped)
        return AlternatingWarpDriver(gp) if method == "gp-yj-alt" else SearcherDriver(gp)
    if method == "gp":
        from searchers import GPSearcher

        return SearcherDriver(GPSearcher(space, metric="loss", mode="min", seed=seed))
    if method == "tpe":
        from searchers import TPESearcher

        return SearcherDriver(TPESearcher(space, metric="loss", mode="min", seed=seed))
    if method == "optuna-tpe":
        import optuna

        return OptunaDriver(space, optuna.samplers.TPESampler(seed=seed))
    if method == "optuna-gp":
        import optuna

        return OptunaDriver(space, optuna.samplers.GPSampler(seed=seed))
    if method == "hyperopt-tpe":
        return HyperoptDriver(space, seed)
    raise ValueError(check_method(method))


def quiet_workers() -> None:
    """One BLAS/torch thread per process, Optuna's per-trial log off (a pool initializer)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import optuna
    import torch

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def timed_run(
    method: str, space: SearchSpace, fn: Callable[[dict[str, Any]], float], optimum: float, seed: int, evals: int
) -> dict[str, Any]:
    """One sequential run: best-so-far regret after each evaluation and suggest time per block."""
    driver = make_driver(method, space, seed)
    losses: list[float] = []
    ask_s: list[float] = []
    for _ in range(evals):
        start = time.perf_counter()
        token, flat = driver.ask()
        ask_s.append(time.perf_counter() - start)
        loss = float(fn(space.from_flat(flat)))
        driver.tell(token, loss)
        losses.append(loss)
    row = summary(losses, ask_s, optimum)
    served = getattr(getattr(driver, "searcher", None), "served_by", None)
    row["gp_served"] = None if served is None else sum(1 for v in served.values() if v == "gp")
    return row


def summary(losses: list[float], ask_s: list[float], optimum: float) -> dict[str, Any]:
    """Best-so-far regret after each evaluation, suggest ms per block, total suggest seconds."""
    best = np.minimum.accumulate(np.asarray(losses, dtype=float))
    blocks = [1000 * float(np.mean(ask_s[i : i + TIME_BLOCK])) for i in range(0, len(ask_s), TIME_BLOCK)]
    return {"regret": np.maximum(best - optimum, 0.0).tolist(), "ask_ms": blocks, "seconds": float(sum(ask_s))}


def finished(log: str | None) -> dict[tuple[str, str, int, int], dict[str, Any]]:
    """The runs already in ``log``, keyed by (problem, method, seed, evals); {} without one."""
    if not log or not os.path.exists(log):
        return {}
    out = {}
    with open(log) as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                out[(row["problem"], row["method"], row["seed"], row["evals"])] = row
    return out


def append_run(log: str | None, row: dict[str, Any]) -> None:
    """Append one finished run as a JSON line (a crash loses at most the run in progress)."""
    if not log:
        return
    with open(log, "a") as f:
        f.write(json.dumps(row) + "\n")
        f.flush()
        os.fsync(f.fileno())


def regret_at(rows: dict[tuple[str, str, int, int], dict[str, Any]], problem: str, method: str, seed: int, budget: int):
    """Regret after ``budget`` evaluations from the longest logged run of that kind (None: none)."""
    runs = [r for (p, m, s, e), r in rows.items() if p == problem and m == method and s == seed and e >= budget]
    if not runs:
        return None
    run = max(runs, key=lambda r: r["evals"])
    return float(run["regret"][budget - 1])


def geo_mean_ratio(ours: dict[str, float], peer: dict[str, float], floor: float = 1e-12) -> float:
    """Geometric mean over problems of mean-regret ratios ours / peer (zeros floored)."""
    logs = [math.log(max(ours[p], floor) / max(peer[p], floor)) for p in ours]
    return float(math.exp(np.mean(logs)))
