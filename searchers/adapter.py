"""The thin Ray Tune adapter every mftune searcher shares.

Ray's ``Searcher`` contract has sharp edges (measured on Ray 2.60): metric and mode arrive only through ``set_search_properties``;
Tune resolves nothing in a suggested config; ``on_trial_complete`` comes with
``result=None`` for paused trials that HyperBand stops and with ids we never
suggested; a searcher that cannot ``save`` silently restarts with ``num_samples=1`` on
restore. This class handles all of that once, and turns the callbacks into calls on a
pure :class:`TrialRecord`; a subclass only implements :meth:`_propose`.
"""

from __future__ import annotations

import math
import os
import pickle
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from ray.tune.search import Searcher

from searchers.record import PENDING, TrialRecord
from searchers.space import SearchSpace, SpaceError, holds_params

_STATE_FORMAT = 1


class SpaceSearcher(Searcher):
    """Base class: search space, seeded generator, trial record, Ray callbacks, save/restore.

    Args:
        space: a :class:`SearchSpace` or anything it accepts (Ray domains, YAML form).
            If omitted, the Tuner's ``param_space`` is used.
        metric, mode: as in Ray; ``mode`` is "min" or "max".
        points_to_evaluate: complete configurations to try first, in order.
        seed: seed of the searcher's own ``numpy.random.Generator``.
        resource_attr: result key that counts fidelity (epochs, iterations) for the
            per-level record that multi-fidelity cores use.
    """

    def __init__(
        self,
        space: Any = None,
        metric: str | None = None,
        mode: str | None = None,
        points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
        seed: int = 0,
        resource_attr: str = "training_iteration",
    ):
        if mode not in (None, "min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        super().__init__(metric=metric, mode=mode)
        self.space: SearchSpace | None = SearchSpace(space) if space is not None else None
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.resource_attr = resource_attr
        self.record = TrialRecord()
        self._raw_points = [dict(p) for p in (points_to_evaluate or [])]
        self._points: list[dict[str, Any]] = []
        if self.space is not None:
            self._points = self._check_points(self._raw_points)
        # TuneConfig(max_concurrent_trials=N): enforced here, counting only trials that run
        # or are about to (not those a scheduler paused), see set_max_concurrency.
        self.max_concurrent: int | None = None
        self._paused: set[str] = set()
        self._n_live = 0  # suggested trials not yet complete (paused ones included)

    # ----------------------------------------------------------- for subclasses
    def _propose(self, trial_id: str) -> dict[str, Any]:
        """Return flat values (see SearchSpace.to_flat) for a new trial."""
        raise NotImplementedError

    def _extra_state(self) -> dict[str, Any]:
        """Subclass state beyond space/record/generator, for save()."""
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        pass

    # -------------------------------------------------------------- Ray contract
    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        if config and holds_params(config):
            if self.space is not None:
                return False  # like Ray's searchers: one space, from one place
            self.space = SearchSpace(config)
            self._points = self._check_points(self._raw_points)
        if mode is not None and mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if metric:
            self._metric = metric
        if mode:
            self._mode = mode
        return True

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if self.space is None:
            raise RuntimeError(
                f"{type(self).__name__} has no search space: pass space= or a "
                "param_space with search domains to the Tuner"
            )
        if self.space.dim == 0:
            raise RuntimeError(f"{type(self).__name__}: the search space has no parameters to search")
        if self._metric is None or self._mode is None:
            raise RuntimeError(
                f"{type(self).__name__} needs metric and mode: pass them to the searcher or to TuneConfig"
            )
        if self.max_concurrent is not None and self.running() >= self.max_concurrent:
            return None  # Ray asks again at its next step
        flat = self._points.pop(0) if self._points else self._propose(trial_id)
        self.record.add(trial_id, flat)
        self._n_live += 1
        return self.space.from_flat(flat)

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        """Enforce ``max_concurrent_trials`` ourselves (Ray's ``ConcurrencyLimiter`` then steps aside).

        Ray's limiter counts every suggested, unfinished trial, paused ones included, so
        under a pausing scheduler (ASHA promotion, Hyperband, BOHB) paused trials hold the
        places and new trials are held back while workers idle. Here a trial that the
        scheduler paused (``on_pause``) frees its place until it is resumed
        (``on_unpause``): mftune's schedulers and Ray's ``HyperBandForBOHB`` call both.
        """
        if isinstance(max_concurrent, bool) or not isinstance(max_concurrent, int) or max_concurrent < 1:
            raise ValueError(f"max_concurrent must be an integer >= 1, got {max_concurrent!r}")
        self.max_concurrent = max_concurrent
        return True

    def running(self) -> int:
        """Suggested trials that are not complete and not paused: those that hold a place."""
        return self._n_live - len(self._paused)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        loss = self._loss(result)
        level = result.get(self.resource_attr)
        if loss is not None and level is not None:
            self.record.report(trial_id, level, loss)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if trial_id not in self.record:
            return  # e.g. trials of another searcher in a restored experiment
        self._paused.discard(trial_id)
        obs = self.record.get(trial_id)
        if obs.state == PENDING:
            self._n_live -= 1
        if error:
            self.record.fail(trial_id)
            return
        loss = None
        if result is not None:
            loss = self._loss(result)
            level = result.get(self.resource_attr)
            if loss is None and self._metric in result:
                self.record.fail(trial_id)  # reported NaN/inf: a failure, not a value
                return
            if loss is not None and level is not None:
                self.record.report(trial_id, level, loss)
        self.record.complete(trial_id, loss)

    def on_pause(self, trial_id: str) -> None:
        """The scheduler paused the trial: it stays pending for the model, but frees its place."""
        obs = self.record.get(trial_id)
        if obs is not None and obs.state == PENDING:
            self._paused.add(trial_id)

    def on_unpause(self, trial_id: str) -> None:
        """The scheduler resumes (or promoted) the trial: it holds a place again."""
        self._paused.discard(trial_id)

    def add_evaluated_point(
        self,
        parameters: dict,
        value: float,
        error: bool = False,
        pruned: bool = False,
        intermediate_values: list[float] | None = None,
    ) -> None:
        if self.space is None or self._mode is None:
            raise RuntimeError("add_evaluated_point needs the search space and mode set first")
        flat = self.space.to_flat(parameters)
        obs = self.record.add(f"__evaluated_{len(self.record)}", flat)
        for i, v in enumerate(intermediate_values or []):
            loss = self._sign(v)
            if loss is not None:
                self.record.report(obs.trial_id, i + 1, loss)
        if error:
            self.record.fail(obs.trial_id)
        else:
            self.record.complete(obs.trial_id, self._sign(value))

    # ------------------------------------------------------------- persistence
    def save(self, checkpoint_path: str) -> None:
        state = {
            "format": _STATE_FORMAT,
            "class": type(self).__qualname__,
            "space": self.space,
            "metric": self._metric,
            "mode": self._mode,
            "seed": self.seed,
            "rng": self.rng.bit_generator.state,
            "resource_attr": self.resource_attr,
            "record": self.record,
            "raw_points": self._raw_points,
            "points": self._points,
            "max_concurrent": self.max_concurrent,
            "paused": sorted(self._paused),
            "extra": self._extra_state(),
        }
        atomic_pickle(state, checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            state = pickle.load(f)
        if state.get("format") != _STATE_FORMAT or state.get("class") != type(self).__qualname__:
            raise ValueError(
                f"{checkpoint_path} holds {state.get('class')} state (format "
                f"{state.get('format')}), not {type(self).__qualname__}"
            )
        self.space = state["space"]
        self._metric, self._mode = state["metric"], state["mode"]
        self.seed = state["seed"]
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = state["rng"]
        self.resource_attr = state["resource_attr"]
        self.record = state["record"]
        self._raw_points, self._points = state["raw_points"], state["points"]
        # states saved before concurrency was counted here hold neither (then: no limit set)
        self.max_concurrent = state.get("max_concurrent", self.max_concurrent)
        self._paused = set(state.get("paused", ()))
        self._n_live = sum(1 for t in self.record if t.state == PENDING)
        self._load_extra_state(state["extra"])

    # ----------------------------------------------------------------- helpers
    def _check_points(self, points: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for i, point in enumerate(points):
            try:
                out.append(self.space.to_flat(point))
            except SpaceError as err:
                raise SpaceError(err.name, f"points_to_evaluate[{i}]: {err}") from None
        return out

    def _sign(self, value: Any) -> float | None:
        try:
            v = float(value)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(v):
            return None
        return v if self._mode == "min" else -v

    def _loss(self, result: Mapping[str, Any]) -> float | None:
        return self._sign(result.get(self._metric)) if self._metric else None


def atomic_pickle(obj: Any, path: str) -> None:
    """Write ``obj`` so that ``path`` holds either the old or the new state, never half."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".pkl")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
