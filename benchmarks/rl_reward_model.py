"""Which reward model the RL searcher should use: the GP posterior mean or an MLP ensemble.

What the agent needs from the model is the *ranking* of imagined configurations (its
rewards are rank-normalised), so each model is fitted on n uniform random configurations
with their rank rewards (searchers/rl/rewards.py) and scored by the Spearman
correlation between predicted and true reward on 500 fresh random configurations of the
same problem; plus the seconds per fit + predict on one thread. Same seeds for both models.

    python -m benchmarks.rl_reward_model [--seeds 5] [--n 50 100] [--problems ...]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.stats import spearmanr

from benchmarks.functions import PROBLEMS
from searchers.gp.encoding import Encoding
from searchers.gp.threads import single_blas_thread
from searchers.rl.reward_model import make_reward_model
from searchers.rl.rewards import RewardScale
from searchers.rl.threads import torch_threads
from searchers.space import SearchSpace

PROBLEM_NAMES = ("branin", "hartmann6", "rosenbrock10", "conditional", "mixed")


def score(model_name: str, problem: str, n: int, seed: int) -> tuple[float, float]:
    pr = PROBLEMS[problem]
    space = SearchSpace(pr.space)
    enc = Encoding(space)
    rng = np.random.default_rng(seed)
    train = [space.sample_flat(rng) for _ in range(n)]
    test = [space.sample_flat(rng) for _ in range(500)]
    y_train = np.array([pr.fn(space.from_flat(f)) for f in train])
    y_test = np.array([pr.fn(space.from_flat(f)) for f in test])
    scale = RewardScale(y_train, "rank")
    model = make_reward_model(model_name)
    start = time.perf_counter()
    model.fit(enc, enc.encode_many(train), scale(y_train), rng, torch.Generator().manual_seed(seed))
    pred = model.predict(enc.encode_many(test))
    seconds = time.perf_counter() - start
    return float(spearmanr(pred, -y_test).statistic), seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--n", type=int, nargs="+", default=[50, 100])
    ap.add_argument("--problems", nargs="+", default=list(PROBLEM_NAMES), choices=PROBLEM_NAMES)
    args = ap.parse_args()
    print("| problem | n | GP mean: Spearman (mean ± s.e.) | MLP ensemble: Spearman | GP s/fit | MLP s/fit |")
    print("|---|---|---|---|---|---|")
    with torch_threads(1), single_blas_thread():
        torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # lazy imports out of the timing
        for problem in args.problems:
            for n in args.n:
                res = {m: np.array([score(m, problem, n, s) for s in range(args.seeds)]) for m in ("gp", "mlp")}
                cells = [f"{r[:, 0].mean():.3f} ± {r[:, 0].std(ddof=1) / np.sqrt(len(r)):.3f}" for r in res.values()]
                secs = [f"{r[:, 1].mean():.2f}" for r in res.values()]
                print(f"| {problem} | {n} | " + " | ".join(cells + secs) + " |", flush=True)


if __name__ == "__main__":
    main()
