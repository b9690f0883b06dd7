"""Suggest latency of the RL searcher with 100/500/1000 observations, next to TPE and GP.

For each size n the searcher is given n uniform random configurations with their
Hartmann6 losses (``add_evaluated_point``), then ``--repeats`` cycles of suggest +
complete are timed; each suggestion after a new result includes the agent's training
(one PPO update on the most recent ``max_episodes`` real episodes, the reward model's
refit on at most 300 points, and the model-based rounds), which is what a Tune driver
pays per trial. The first cycle after loading is not timed (it trains on all n at
once). One thread (the searchers cap themselves).

    python -m benchmarks.rl_latency [--sizes 100 500 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.functions import PROBLEMS
from searchers.space import SearchSpace


def make(method: str, space: SearchSpace):
    from searchers import GPSearcher, RLSearcher, TPESearcher

    cls = {"rl": RLSearcher, "rl-no-model": RLSearcher, "tpe": TPESearcher, "gp": GPSearcher}[method]
    kw = {"reward_model": "none"} if method == "rl-no-model" else {}
    return cls(space, metric="loss", mode="min", seed=0, **kw)


def latency(method: str, n: int, repeats: int) -> float:
    problem = PROBLEMS["hartmann6"]
    space = SearchSpace(problem.space)
    searcher = make(method, space)
    rng = np.random.default_rng(0)
    for _ in range(n):
        config = space.sample(rng)
        searcher.add_evaluated_point(config, problem.fn(config))
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        config = searcher.suggest(f"t{i}")
        if i:
            times.append(time.perf_counter() - start)
        searcher.on_trial_complete(f"t{i}", {"loss": problem.fn(config)})
    return float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--methods", nargs="+", default=["rl", "rl-no-model", "tpe", "gp"])
    args = ap.parse_args()
    import torch

    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # lazy imports out of the timing
    print("| method | " + " | ".join(f"{n} observations" for n in args.sizes) + " |")
    print("|---|" + "---|" * len(args.sizes))
    for m in args.methods:
        cells = [f"{latency(m, n, args.repeats):.3f} s" for n in args.sizes]
        print(f"| {m} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
