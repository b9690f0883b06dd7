"""What reward a trial stopped early gives the RL searcher: measured.

The multi-fidelity Hartmann6 and the one-worker successive halving of
benchmarks/gp_fidelity.py (rungs 1, 3, 9, 27; a trial continues while in the best third
of its rung), with the RL searcher under its two rules: ``fidelity="final"`` (a stopped
trial's reward is its last reported loss, at whatever rung it stopped) and
``fidelity="highest"`` (rewards are the losses at the highest rung with
``n_startup_trials`` results; trials stopped below it give none). Regret of the best
full-level loss after a budget of resource units; Wilcoxon signed-rank test on seeds.

    python -m benchmarks.rl_fidelity [--seeds 10] [--budget 600] [--jobs 2]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from scipy.stats import wilcoxon

from benchmarks.gp_fidelity import run_one
from searchers.space import SearchSpace


def make(method: str, space: SearchSpace, seed: int):
    from searchers import RLSearcher

    fidelity = {"rl-final": "final", "rl-highest": "highest"}[method]
    return RLSearcher(space, metric="loss", mode="min", seed=seed, fidelity=fidelity), True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budget", type=int, default=600)
    ap.add_argument("--jobs", type=int, default=1, help="runs in parallel processes (each is one thread)")
    args = ap.parse_args()
    checkpoints = [args.budget // 3, 2 * args.budget // 3, args.budget]
    methods = ["rl-final", "rl-highest"]
    start = time.perf_counter()
    tasks = [(m, s) for m in methods for s in range(args.seeds)]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_one, m, s, args.budget, checkpoints, make) for m, s in tasks]
        runs = dict(zip(tasks, (f.result() for f in futures)))
    res = {m: np.array([runs[m, s] for s in range(args.seeds)]) for m in methods}
    print(f"{args.seeds} seeds, {time.perf_counter() - start:.0f} s total; regret of the best full-level loss")
    print("| method | " + " | ".join(f"@{c} units mean ± se / median" for c in checkpoints) + " |")
    print("|---|" + "---|" * len(checkpoints))
    for m in methods:
        r = res[m]
        cells = []
        for j in range(len(checkpoints)):
            col = r[:, j]
            if not np.all(np.isfinite(col)):
                cells.append(f"{int(np.sum(~np.isfinite(col)))} runs without a full-level trial")
                continue
            cells.append(f"{col.mean():.3g} ± {col.std(ddof=1) / np.sqrt(len(col)):.2g} / {np.median(col):.3g}")
        print(f"| {m} | " + " | ".join(cells) + " |")
    f, h = res["rl-final"][:, -1], res["rl-highest"][:, -1]
    if np.all(np.isfinite(f)) and np.all(np.isfinite(h)) and np.any(f != h):
        print(
            f"\nfinal vs highest @{checkpoints[-1]}: Wilcoxon p = {wilcoxon(f, h).pvalue:.2g}, "
            f"final lower in {int(np.sum(f < h))} of {len(f)} seeds"
        )


if __name__ == "__main__":
    main()
