"""How stable is ``latency_ms`` (pipeline.cost_metrics) on a shared CPU?

For a few models of the digits task (today's SmallCNN and three architectures of the
``arch`` space at 8x8), measure ``latency_ms`` -- itself the median of 10 timed passes of a
64-sample batch after 3 warm-ups -- ``--repeats`` times in a row, and print the median,
min, max and the relative spread (max - min) / median and IQR / median of those repeats.

    PYTHONPATH=$PWD nice -n 10 python benchmarks/latency_spread.py --repeats 30
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import torch

from pipeline import arch
from pipeline.cost_metrics import count_flops, count_params, latency_ms
from pipeline.models import SmallCNN

MODELS = {
    "smallcnn c16 h64": lambda: SmallCNN(8, 10, channels=16, hidden=64),
    "arch plain x2 w0.5": lambda: arch.ArchNet(8, 10, arch.parse({"block": "plain", "blocks": 2, "width_mult": 0.5})),
    "arch bottleneck x3 w1": lambda: arch.ArchNet(
        8, 10, arch.parse({"block": {"name": "bottleneck", "width_ratio": 0.5}, "blocks": 3, "width_mult": 1.0})
    ),
    "arch inverted x4 w2 e6 k5": lambda: arch.ArchNet(
        8,
        10,
        arch.parse({"block": {"name": "inverted", "expansion": 6, "kernel_size": 5}, "blocks": 4, "width_mult": 2.0}),
    ),
}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--threads", type=int, default=1, help="torch threads (a 1-CPU trial: 1)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    batch = torch.as_tensor(np.random.default_rng(0).normal(size=(64, 1, 8, 8)), dtype=torch.float32)
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.repeats} repeats of latency_ms each")
    print("| model | params | flops/sample | median ms | min | max | (max-min)/median | IQR/median |")
    print("|---|---|---|---|---|---|---|---|")
    for name, make in MODELS.items():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = make()
        xs = sorted(latency_ms(model, batch) for _ in range(args.repeats))
        med = statistics.median(xs)
        q1, _, q3 = statistics.quantiles(xs, n=4)
        print(
            f"| {name} | {count_params(model)} | {count_flops(model, batch[:1])} | {med:.3f} | {xs[0]:.3f} "
            f"| {xs[-1]:.3f} | {(xs[-1] - xs[0]) / med:.0%} | {(q3 - q1) / med:.0%} |"
        )


if __name__ == "__main__":
    main()
