"""What the GP believes about unexplored space, partway through a logged-style run.

Runs one ``benchmarks.auto_runs`` method on a held-out problem of
``benchmarks/auto_switch.py`` for ``--trials`` suggestions, then fits the GP to that
record four ways (losses standardized or power-transformed; constant mean fitted or held
at 0) and prints, for each, the fitted constant mean and signal sd next to the incumbent's
standardized loss: how many prior standard deviations an unexplored point is expected to
be from beating the incumbent. A large gap makes expected improvement vanish away from
the data, which is how a model settles in the incumbent's basin::

    python -m benchmarks.gp_settling --problem styblinski6 --seed 104 --trials 250 --method gp-yj
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy import stats

from benchmarks.auto_runs import make_driver
from benchmarks.auto_switch import HELD_OUT
from searchers.gp import data
from searchers.gp.encoding import Encoding
from searchers.gp.fit import fit_hyperparameters
from searchers.gp.hyper import Hyper, Priors
from searchers.gp.likelihood import MarginalLikelihood
from searchers.gp.threads import single_blas_thread
from searchers.gp.warping import standardize, warp_losses
from searchers.space import SearchSpace

#: mftune's GP methods of ``benchmarks.auto_runs`` (a record to read back)
GP_METHODS = ("gp", "gp-yj", "gp-yj-alt", "gp-yj-m0")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--problem", choices=sorted(HELD_OUT), required=True)
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument("--trials", type=int, default=250)
    ap.add_argument("--method", choices=GP_METHODS, default="gp-yj")
    args = ap.parse_args()

    tree, fn, optimum = HELD_OUT[args.problem]
    space = SearchSpace(tree)
    driver = make_driver(args.method, space, args.seed)
    for _ in range(args.trials):
        token, flat = driver.ask()
        driver.tell(token, float(fn(space.from_flat(flat))))
    record = getattr(driver, "inner", driver).searcher.record
    chosen = data.select(record, "final", 2)
    assert chosen is not None, "--trials must be at least 2"
    enc = Encoding(space)
    X = enc.encode_many(chosen.flats)
    losses = chosen.losses
    _, lam = stats.yeojohnson(standardize(losses))
    print(
        f"{args.problem} seed {args.seed}, {args.method} after {args.trials} trials: incumbent regret "
        f"{losses.min() - optimum:.4g}; Yeo-Johnson lambda {lam:.2f}; skewness of the losses {stats.skew(losses):.2f}"
    )
    print("\n| losses | constant mean | fitted mean | signal sd | incumbent | gap in signal sds |")
    print("|---|---|---|---|---|---|")
    for warping in ("none", "yeo-johnson"):
        y = warp_losses(losses, warping)
        for mean in ("fitted", "zero"):
            objective = MarginalLikelihood(X, y, enc.group, enc.weight, Priors(mean=mean))
            with single_blas_thread():  # as the searcher fits
                fit = fit_hyperparameters(objective, np.random.default_rng(0), None, 4)
            hyper = Hyper.from_vector(fit.theta)
            sd = float(np.sqrt(hyper.signal))
            best = float(y.min())
            print(
                f"| {warping} | {mean} | {hyper.mean:+.2f} | {sd:.2f} | {best:+.2f} | {(hyper.mean - best) / sd:.1f} |"
            )


if __name__ == "__main__":
    main()
