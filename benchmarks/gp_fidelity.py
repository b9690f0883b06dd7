"""Which observations the GP should fit on under successive halving: measured.

A synthetic multi-fidelity objective on Hartmann6: at resource level r (out of R = 27)
the loss is ``hartmann6(x) + s(r) * (1 + 3 * mean((x - 0.9)^2))`` with
``s(r) = log(R / r) / log(R)``: low levels are worse overall *and* biased towards the
corner x = 0.9, so their ranking differs from the full level's, as short training
favours different hyperparameters than long training. Each method suggests trials one
at a time; a trial runs through rungs 1, 3, 9, 27 and stops at a rung unless its loss is
in the best third of the losses recorded at that rung so far (ASHA's rule, with one
worker), reporting every rung to the searcher as ``training_iteration``. Regret after a
budget of B resource units is the best *full-level* loss seen minus Hartmann6's optimum
(a user keeps a fully trained configuration).

Methods: the GP with ``fidelity="highest"`` (fit on the highest level with enough
trials), the GP with ``fidelity="final"`` (the default: every trial's last loss, levels
mixed), the GP without early stopping (every trial to R: no multi-fidelity), and random
search under the same halving.

    python -m benchmarks.gp_fidelity [--seeds 10] [--budget 600]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.functions import PROBLEMS, hartmann  # noqa: E402
from searchers.space import SearchSpace  # noqa: E402

RUNGS = (1, 3, 9, 27)
ETA = 3
OPTIMUM = PROBLEMS["hartmann6"].optimum


def loss_at(config: dict, level: int) -> float:
    x = np.array([config[f"x{i}"] for i in range(6)])
    s = math.log(RUNGS[-1] / level) / math.log(RUNGS[-1])
    return hartmann(x) + s * (1.0 + 3.0 * float(np.mean((x - 0.9) ** 2)))


def make(method: str, space: SearchSpace, seed: int):
    from searchers import GPSearcher, RandomSearcher

    if method == "random-halving":
        return RandomSearcher(space, metric="loss", mode="min", seed=seed), True
    fidelity = "final" if method == "gp-final" else "highest"
    return GPSearcher(space, metric="loss", mode="min", seed=seed, fidelity=fidelity), method != "gp-no-halving"


def run_one(method: str, seed: int, budget: int, checkpoints: list[int], make_fn=make) -> list[float]:
    """Regret at each checkpoint; ``make_fn(method, space, seed) -> (searcher, halving)``
    (benchmarks/rl_fidelity.py passes its own)."""
    space = SearchSpace(PROBLEMS["hartmann6"].space)
    searcher, halving = make_fn(method, space, seed)
    rung_losses: dict[int, list[float]] = {r: [] for r in RUNGS}
    spent, best_full, n = 0, math.inf, 0
    out, todo = [], list(checkpoints)
    while todo:
        tid = f"t{n}"
        n += 1
        config = searcher.suggest(tid)
        result = None
        for r in RUNGS:
            spent += r - (result["training_iteration"] if result else 0)
            result = {"loss": loss_at(config, r), "training_iteration": r}
            searcher.on_trial_result(tid, result)
            if r == RUNGS[-1]:
                best_full = min(best_full, result["loss"])
            while todo and spent >= todo[0]:
                out.append(best_full - OPTIMUM)
                todo.pop(0)
            if r == RUNGS[-1]:
                break
            rung_losses[r].append(result["loss"])
            if halving and result["loss"] > np.percentile(rung_losses[r], 100 / ETA):
                break  # not in the best third at this rung: stopped
        searcher.on_trial_complete(tid, result)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budget", type=int, default=600, help="resource units (epochs) per run")
    args = ap.parse_args()
    checkpoints = [args.budget // 3, 2 * args.budget // 3, args.budget]
    methods = ["gp-highest", "gp-final", "gp-no-halving", "random-halving"]
    start = time.perf_counter()
    res = {m: [] for m in methods}
    for seed in range(args.seeds):
        for m in methods:
            res[m].append(run_one(m, seed, args.budget, checkpoints))
    print(
        f"multi-fidelity Hartmann6 (rungs {RUNGS}, eta {ETA}), {args.seeds} seeds, "
        f"{time.perf_counter() - start:.0f} s total; regret of the best full-level loss"
    )
    from scipy.stats import wilcoxon

    print(
        "| method | "
        + " | ".join(f"@{c} units mean ± se / median" for c in checkpoints)
        + f" | vs gp-highest @{checkpoints[-1]}: p / highest better |"
    )
    print("|---|" + "---|" * (len(checkpoints) + 1))
    base = np.array(res["gp-highest"])
    for m in methods:
        r = np.array(res[m])
        cells = []
        for j in range(len(checkpoints)):
            col = r[:, j]
            finite = col[np.isfinite(col)]
            if len(finite) < len(col):
                cells.append(f"{len(col) - len(finite)} of {len(col)} runs without a full-level trial")
                continue
            se = col.std(ddof=1) / math.sqrt(len(col))
            cells.append(f"{col.mean():.3g} ± {se:.2g} / {np.median(col):.3g}")
        test = ""
        if m != "gp-highest":
            g, o = base[:, -1], r[:, -1]
            p = wilcoxon(g, o).pvalue if np.any(g != o) else 1.0
            test = f"{p:.2g} / {int(np.sum(g < o))} of {len(g)}"
        print(f"| {m} | " + " | ".join(cells) + f" | {test} |")


if __name__ == "__main__":
    main()
