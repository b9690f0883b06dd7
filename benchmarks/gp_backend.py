"""numpy/scipy with hand-written gradients vs torch autograd for the GP's two hot loops.

The GP spends its time in (1) the log marginal likelihood and its gradient in the
hyperparameters (called 30-100 times per fit by L-BFGS-B) and (2) the posterior mean
and variance with their gradients in the inputs (called per L-BFGS-B step of the
acquisition polish, a handful of points at a time), plus (3) the posterior at a
thousand candidates without gradients. This script times each in numpy (our
implementation, searchers/gp) and in torch float64 with autograd (the same formulas,
written here the way Optuna's GPSampler does), checks that both give the same numbers,
and prints the time ratio. Both run single-threaded (torch.set_num_threads(1), BLAS
limited with threadpoolctl), as the searcher does.

    python -m benchmarks.gp_backend [--sizes 50,200,500] [--dim 6] [--repeats 30]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from searchers.gp.hyper import Hyper, Priors  # noqa: E402
from searchers.gp.likelihood import MarginalLikelihood  # noqa: E402
from searchers.gp.posterior import Posterior  # noqa: E402


def torch_mll(torch, X, y, theta_np):
    """Negative log marginal likelihood (no prior) and its gradient by autograd."""
    theta = torch.tensor(theta_np, dtype=torch.float64, requires_grad=True)
    P = X.shape[1]
    inv_sq = torch.exp(-2.0 * theta[:P])
    signal, noise, mean = torch.exp(theta[P]), torch.exp(theta[P + 1]), theta[P + 2]
    sqd = (X.unsqueeze(1) - X.unsqueeze(0)).square()
    r2 = sqd @ inv_sq
    # d/dr at 0 is 0/0 under autograd through sqrt: clamp like Optuna's custom Function avoids.
    r = torch.sqrt(r2.clamp_min(1e-30))
    K = signal * (1 + math.sqrt(5) * r + 5.0 / 3.0 * r2) * torch.exp(-math.sqrt(5) * r)
    K = K + noise * torch.eye(len(X), dtype=torch.float64)
    L = torch.linalg.cholesky(K)
    resid = (y - mean).unsqueeze(-1)
    a = torch.linalg.solve_triangular(L, resid, upper=False)
    value = 0.5 * (a * a).sum() + torch.log(torch.diagonal(L)).sum() + 0.5 * len(X) * math.log(2 * math.pi)
    value.backward()
    return float(value), theta.grad.numpy()


def torch_posterior(torch, Xtr, L, alpha, hyper, Xq_np, with_grad):
    inv_sq = torch.tensor(1.0 / hyper.lengthscales**2, dtype=torch.float64)
    Xq = torch.tensor(Xq_np, dtype=torch.float64, requires_grad=with_grad)
    sqd = (Xq.unsqueeze(1) - Xtr.unsqueeze(0)).square()
    r2 = sqd @ inv_sq
    r = torch.sqrt(r2.clamp_min(1e-30))
    Ks = hyper.signal * (1 + math.sqrt(5) * r + 5.0 / 3.0 * r2) * torch.exp(-math.sqrt(5) * r)
    mean = hyper.mean + Ks @ alpha
    V = torch.linalg.solve_triangular(L, Ks.T, upper=False)
    var = hyper.signal - (V * V).sum(0)
    if not with_grad:
        return mean.detach().numpy(), var.detach().numpy(), None
    (mean.sum() + var.sum()).backward()
    return mean.detach().numpy(), var.detach().numpy(), Xq.grad.numpy()


def timed(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="50,200,500")
    ap.add_argument("--dim", type=int, default=6)
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args()
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    D = args.dim
    rows = []
    with threadpool_limits(limits=1):
        for n in [int(s) for s in args.sizes.split(",")]:
            rng = np.random.default_rng(n)
            X = rng.random((n, D))
            y = np.sin(5 * X[:, 0]) + X[:, 1] ** 2
            y = (y - y.mean()) / y.std()
            theta = np.concatenate([np.log(np.full(D, 0.5)), [0.0, math.log(1e-3), 0.1]])
            ml = MarginalLikelihood(X, y, np.arange(D), np.ones(D), Priors())
            Xt, yt = torch.tensor(X), torch.tensor(y)
            v_np, g_np = ml.value_and_grad(theta, with_prior=False)
            v_t, g_t = torch_mll(torch, Xt, yt, theta)
            err = max(abs(v_np + v_t), float(np.max(np.abs(g_np + g_t))))
            t_np = timed(lambda: ml.value_and_grad(theta, with_prior=False), args.repeats)
            t_t = timed(lambda: torch_mll(torch, Xt, yt, theta), args.repeats)
            rows.append((n, "likelihood + gradient", t_np, t_t, err))

            hyper = Hyper.from_vector(theta)
            post = Posterior(X, y, hyper, 1.0 / hyper.lengthscales**2)
            Lt, at = torch.tensor(post.L), torch.tensor(post.alpha)
            for m, label, grad in (
                (5, "posterior + input gradient, 5 points", True),
                (1024, "posterior, 1024 candidates", False),
            ):
                Xq = rng.random((m, D))
                if grad:
                    mean, var, dm, dv = post.predict_with_grad(Xq)
                    ours = (mean, var, dm + dv)
                else:
                    ours = post.predict(Xq) + (None,)
                theirs = torch_posterior(torch, Xt, Lt, at, hyper, Xq, grad)
                err = max(float(np.max(np.abs(a - b))) for a, b in zip(ours, theirs) if a is not None)
                f_np = (lambda: post.predict_with_grad(Xq)) if grad else (lambda: post.predict(Xq))
                t_np = timed(f_np, args.repeats)
                t_t = timed(lambda: torch_posterior(torch, Xt, Lt, at, hyper, Xq, grad), args.repeats)
                rows.append((n, label, t_np, t_t, err))
    print(
        f"{D} dimensions, median of {args.repeats} calls, one thread each (torch {torch.__version__}, "
        f"numpy {np.__version__})"
    )
    print("| n | operation | numpy ms | torch ms | torch / numpy | max abs difference |")
    print("|---|---|---|---|---|---|")
    for n, label, a, b, err in rows:
        print(f"| {n} | {label} | {a:.2f} | {b:.2f} | {b / a:.2f} | {err:.1e} |")


if __name__ == "__main__":
    main()
