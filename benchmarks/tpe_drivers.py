"""One ask/tell interface over the searchers the TPE benchmarks compare.

Each driver suggests flat values of an mftune :class:`SearchSpace` (active parameters
only, categoricals as option index) and is told a loss to minimise, so the protocols
(sequential, k pending) and the objective are the same code for every method:

* ``mftune-tpe`` / ``random``: mftune's ``TPESearcher`` / ``RandomSearcher`` through their
  Ray ``Searcher`` callbacks (``suggest``, ``on_trial_complete``): the production path,
  without starting Ray.
* ``optuna-tpe``: ``optuna.samplers.TPESampler(seed=...)`` with its defaults (multivariate,
  constant liar) through ``study.ask``/``study.tell``, the space asked define-by-run so
  conditional parameters are suggested only when active. Asked-but-not-told trials are
  RUNNING, which its constant liar counts as bad.
* ``hyperopt-tpe``: ``hyperopt.tpe.suggest`` with its defaults on a ``Trials`` object, the
  space built with ``hp.choice`` for branches (as Ray's ``HyperOptSearch`` does). A
  suggested but unfinished trial stays in ``Trials`` as a RUNNING document without a
  loss; hyperopt's ``suggest`` treats a missing loss as +inf, so pending trials count as
  the worst observations, and they count towards its 20 startup trials.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from searchers.space import SearchSpace

METHODS = ("mftune-tpe", "optuna-tpe", "hyperopt-tpe", "random")


class MftuneDriver:
    """An mftune searcher driven through Ray's Searcher callbacks."""

    def __init__(self, searcher: Any):
        self.searcher = searcher
        self.space = searcher.space
        self._n = 0

    def ask(self) -> tuple[str, dict[str, Any]]:
        tid = f"t{self._n}"
        self._n += 1
        config = self.searcher.suggest(tid)
        return tid, self.space.to_flat(config)

    def tell(self, token: str, loss: float) -> None:
        self.searcher.on_trial_complete(token, {"loss": loss})

    def add_completed(self, flat: dict[str, Any], loss: float) -> None:
        self.searcher.add_evaluated_point(self.space.from_flat(flat), loss)


class OptunaDriver:
    """An Optuna sampler through ask/tell, parameters suggested define-by-run."""

    def __init__(self, space: SearchSpace, sampler: Any):
        import optuna

        self.space = space
        self.study = optuna.create_study(sampler=sampler)

    def ask(self) -> tuple[Any, dict[str, Any]]:
        from pipeline.optuna_nsga2 import suggest_flat

        trial = self.study.ask()
        return trial, suggest_flat(trial, self.space)

    def tell(self, token: Any, loss: float) -> None:
        self.study.tell(token, loss)

    def add_completed(self, flat: dict[str, Any], loss: float) -> None:
        import optuna

        self.study.add_trial(
            optuna.trial.create_trial(
                params=dict(flat), value=loss, distributions=optuna_distributions(self.space, flat)
            )
        )


def optuna_distributions(space: SearchSpace, flat: dict[str, Any]) -> dict[str, Any]:
    """Optuna distributions of the active parameters of ``flat`` (as OptunaDriver asks them)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict[str, Any] = {}
    for p in space.params:
        if p.name not in flat:
            continue
        if p.is_categorical:
            out[p.name] = CategoricalDistribution(list(range(p.n_choices)))
        elif p.kind == "int":
            out[p.name] = IntDistribution(int(p.low), int(p.high), step=int(p.step), log=p.log)
        else:
            out[p.name] = FloatDistribution(p.low, p.high, step=p.step, log=p.log)
    return out


class HyperoptDriver:
    """hyperopt's tpe.suggest on a Trials object, one new trial per call."""

    def __init__(self, space: SearchSpace, seed: int):
        from hyperopt import Domain, Trials

        self.space = space
        self.domain = Domain(lambda _: 0.0, hyperopt_space(space))
        self.trials = Trials()
        self.rstate = np.random.default_rng(seed)  # fmin draws each suggest's seed like this

    def ask(self) -> tuple[dict, dict[str, Any]]:
        from hyperopt import JOB_STATE_RUNNING, tpe

        ids = self.trials.new_trial_ids(1)
        docs = tpe.suggest(ids, self.domain, self.trials, int(self.rstate.integers(2**31 - 1)))
        self.trials.insert_trial_docs(docs)
        doc = self.trials._dynamic_trials[-1]
        doc["state"] = JOB_STATE_RUNNING
        self.trials.refresh()
        flat = {}
        for name, vals in doc["misc"]["vals"].items():
            if vals:
                p = self.space[name]
                v = vals[0]
                flat[name] = int(v) if p.is_categorical else p.check(round(v) if p.kind == "int" else v)
        return doc, flat

    def tell(self, token: dict, loss: float) -> None:
        from hyperopt import JOB_STATE_DONE, STATUS_OK

        token["result"] = {"loss": loss, "status": STATUS_OK}
        token["state"] = JOB_STATE_DONE
        self.trials.refresh()

    def add_completed(self, flat: dict[str, Any], loss: float) -> None:
        from hyperopt import JOB_STATE_DONE, STATUS_OK

        (tid,) = self.trials.new_trial_ids(1)
        misc = {
            "tid": tid,
            "cmd": self.domain.cmd,
            "workdir": self.domain.workdir,
            "idxs": {p.name: ([tid] if p.name in flat else []) for p in self.space.params},
            "vals": {p.name: ([flat[p.name]] if p.name in flat else []) for p in self.space.params},
        }
        (doc,) = self.trials.new_trial_docs([tid], [None], [{"loss": loss, "status": STATUS_OK}], [misc])
        doc["state"] = JOB_STATE_DONE
        self.trials.insert_trial_docs([doc])
        self.trials.refresh()


def hyperopt_space(space: SearchSpace) -> dict[str, Any]:
    """The space as hyperopt expressions, labelled with mftune's parameter names."""
    from hyperopt import hp

    children: dict[tuple[str, int] | None, list] = {}
    for p in space.params:
        children.setdefault(p.parent, []).append(p)

    def build(parent: tuple[str, int] | None) -> dict[str, Any]:
        out = {}
        for p in children.get(parent, []):
            if p.is_categorical:
                out[p.name] = hp.choice(p.name, [build((p.name, i)) for i in range(p.n_choices)])
            elif p.is_discrete:
                q = float(p.step)
                out[p.name] = (
                    hp.qloguniform(p.name, math.log(p.low), math.log(p.high), q)
                    if p.log
                    else hp.quniform(p.name, p.low, p.high, q)
                )
            else:
                out[p.name] = (
                    hp.loguniform(p.name, math.log(p.low), math.log(p.high))
                    if p.log
                    else hp.uniform(p.name, p.low, p.high)
                )
        return out

    return build(None)


def make_driver(method: str, space: SearchSpace, seed: int) -> Any:
    if method == "mftune-tpe":
        from searchers import TPESearcher

        return MftuneDriver(TPESearcher(space, metric="loss", mode="min", seed=seed))
    if method == "random":
        from searchers import RandomSearcher

        return MftuneDriver(RandomSearcher(space, metric="loss", mode="min", seed=seed))
    if method == "optuna-tpe":
        import optuna

        return OptunaDriver(space, optuna.samplers.TPESampler(seed=seed))
    if method == "hyperopt-tpe":
        return HyperoptDriver(space, seed)
    raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")


def run_protocol(driver: Any, objective: Callable[[dict[str, Any]], float], n_evals: int, n_pending: int) -> np.ndarray:
    """Evaluate ``n_evals`` configurations keeping ``n_pending`` suggestions in flight
    (1: sequential); the oldest pending one finishes first. Returns losses in finishing order."""
    queue: list[tuple[Any, float]] = []
    losses = []
    asked = 0
    while len(losses) < n_evals:
        while len(queue) < n_pending and asked < n_evals:
            token, flat = driver.ask()
            queue.append((token, objective(flat)))
            asked += 1
        token, loss = queue.pop(0)
        driver.tell(token, loss)
        losses.append(loss)
    return np.asarray(losses)
