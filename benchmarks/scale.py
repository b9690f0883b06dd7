"""Driver cost per result at 10,000+ trials: mftune's scheduler and searchers against Ray's.

Two parts, each comparing in one process and one run:

``emulated`` drives the Ray adapters through the emulated controller
(benchmarks/sched_sim.py, no Ray runtime) with a trivial objective: ``--trials`` trials,
ASHA stopping with max_t 9 and eta 3 (milestones 1 and 3, so 1-9 results per trial),
8 slots. Schedulers: mftune's ``ASHAScheduler`` (its state journaled in a temporary
directory, as in a real run) and Ray's ``AsyncHyperBandScheduler`` (up to ``--ray-asha-max`` trials: its
``choose_trial_to_run`` scans every trial at every call, so a larger run takes hours);
searcher: mftune's ``RandomSearcher``. Every scheduler and searcher hook is timed (CPU time of the thread,
so other jobs on a shared machine do not count); the table gives the median
hook time per result (over ten slices) over results 5-15 % and 85-95 % of the run (flat cost: the two
agree; the windows leave out the start and the final drain), and the bytes the scheduler/searcher code allocated and still holds, per trial
(tracemalloc, by the file that allocated; a second, untimed pass).

``suggest`` times one suggestion of each mftune searcher (random, TPE) after a history
of N finished trials on a 6-D mixed space, for several N.

``ray`` runs a real Ray Tune (``ray.init(num_cpus=2)``, ``reuse_actors=True``, a
trainable that reports 9 times) with ``--ray-trials`` trials per configuration: mftune's
ASHA + RandomSearcher (journal in Ray's staging directory) and Ray's
AsyncHyperBandScheduler + BasicVariantGenerator, alternately. CPU time of the driver's Tune
loop (its main thread) per result, the part of it spent inside the scheduler's and
searcher's hooks, Tune's wall time per result, and the driver's resident memory as
trials accumulate.

    python -m benchmarks.scale emulated --trials 10000 50000
    python -m benchmarks.scale suggest --sizes 1000 10000 50000
    python -m benchmarks.scale ray --ray-trials 1000
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import statistics
import tempfile
import time
import tracemalloc
import zlib
from typing import Any

import numpy as np

MAX_T = 9
ETA = 3
SCHED_HOOKS = ("on_trial_add", "on_trial_result", "on_trial_complete", "on_trial_error", "on_trial_remove")
SCHED_HOOKS += ("choose_trial_to_run",)
SEARCH_HOOKS = ("suggest", "on_trial_result", "on_trial_complete")


def _curve(x: float, y: float, epoch: float) -> float:
    """A learning curve with crossing rates: loss after ``epoch`` epochs."""
    final = (x - 0.3) ** 2 + (y - 0.6) ** 2
    return final + (0.5 + x) / (1.0 + epoch * (0.2 + y))


def space_2d():
    from ray import tune

    return {"x": tune.uniform(0.0, 1.0), "y": tune.uniform(0.0, 1.0)}


class TrivialObjective:
    def value(self, config: dict[str, Any], resource: float, seed: int) -> float:
        return _curve(config["x"], config["y"], resource)

    def epoch_time(self, config: dict[str, Any]) -> float:
        return 1.0 + (zlib.crc32(repr(config["x"]).encode()) % 100) / 100.0  # varied, so trials interleave


class Timed:
    """Forwards to ``obj``; times the calls of ``hooks`` and notes the running total per result."""

    def __init__(self, obj: Any, hooks: tuple[str, ...], clock: dict[str, float]):
        self._obj, self._hooks, self._clock = obj, hooks, clock

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._obj, name)
        if name not in self._hooks:
            return attr
        clock = self._clock

        def timed(*args, **kwargs):
            start = time.thread_time()
            try:
                return attr(*args, **kwargs)
            finally:
                clock["s"] += time.thread_time() - start

        return timed


def _schedulers(tmp: str) -> dict[str, Any]:
    from ray.tune.schedulers import AsyncHyperBandScheduler

    from schedulers import ASHAScheduler

    return {
        "mftune ASHA": lambda: ASHAScheduler(
            max_resource=MAX_T, reduction_factor=ETA, rule="stopping", resource_attr="epoch", seed=0
        ),
        "Ray ASHA": lambda: AsyncHyperBandScheduler(
            time_attr="epoch", max_t=MAX_T, grace_period=1, reduction_factor=ETA
        ),
    }


def _emulated_run(make_scheduler, trials: int, tmp: str, *, timed: bool):
    from benchmarks.sched_sim import SimController
    from searchers.random_search import RandomSearcher

    clock = {"s": 0.0}
    marks: list[tuple[int, float]] = []
    scheduler = make_scheduler()
    searcher = RandomSearcher(space_2d(), metric="loss", mode="min", seed=0)
    if timed:
        sched_proxy = Timed(scheduler, SCHED_HOOKS, clock)
        search_proxy = Timed(searcher, SEARCH_HOOKS, clock)
    else:
        sched_proxy, search_proxy = scheduler, searcher
    sim = SimController(
        search_proxy,
        sched_proxy,
        TrivialObjective(),
        metric="loss",
        mode="min",
        max_t=MAX_T,
        slots=8,
        max_trials=trials,
        experiment_dir=tmp,
    )
    if timed:  # the running total after every result: the controller appends a report per result
        reports = sim.reports

        class Marking(list):
            def append(self, item):
                super().append(item)
                marks.append((len(self), clock["s"]))

        sim.reports = Marking(reports)
    start = time.perf_counter()
    run = sim.run()
    wall = time.perf_counter() - start
    return run, marks, wall, scheduler


def _window_cost(marks: list[tuple[int, float]], lo: float, hi: float, pieces: int = 10) -> float:
    """Hook seconds per result between fractions ``lo`` and ``hi`` of the run's results:
    the median over ``pieces`` equal slices, so a burst of load on a shared machine (or a
    compaction, amortised by design) moves it little."""
    n = len(marks)
    edges = [marks[int((lo + (hi - lo) * i / pieces) * (n - 1))] for i in range(pieces + 1)]
    return statistics.median((b[1] - a[1]) / max(b[0] - a[0], 1) for a, b in zip(edges, edges[1:]))


def _held_bytes(make_scheduler, trials: int, tmp: str) -> dict[str, float]:
    """Bytes still allocated after the run by scheduler/searcher code, by whose file allocated them."""
    gc.collect()
    tracemalloc.start(1)
    run, _, _, scheduler = _emulated_run(make_scheduler, trials, tmp, timed=False)
    gc.collect()
    snap = tracemalloc.take_snapshot()
    tracemalloc.stop()
    held = {"mftune schedulers/": 0, "mftune searchers/": 0, "ray/tune/schedulers/": 0}
    for stat in snap.statistics("filename"):
        name = stat.traceback[0].filename.replace(os.sep, "/")
        if "/ray/tune/schedulers/" in name:
            held["ray/tune/schedulers/"] += stat.size
        elif "/schedulers/" in name and "site-packages" not in name:
            held["mftune schedulers/"] += stat.size
        elif "/searchers/" in name and "site-packages" not in name:
            held["mftune searchers/"] += stat.size
    del run, scheduler
    return held


def emulated(sizes: list[int], ray_max: int) -> None:
    print(f"\n## emulated controller: ASHA stopping, max_t {MAX_T}, eta {ETA}, 8 slots, RandomSearcher")
    print(
        "| trials | results | scheduler | us/result, results 5-15% | us/result, results 85-95% | late/early | run s |"
    )
    print("|---|---|---|---|---|---|---|")
    for n in sizes:
        for name, make in _schedulers("").items():
            if name.startswith("Ray") and n > ray_max:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                run, marks, wall, _ = _emulated_run(make, n, tmp, timed=True)
            first, last = _window_cost(marks, 0.05, 0.15), _window_cost(marks, 0.85, 0.95)
            print(
                f"| {n} | {len(run.reports)} | {name} | {first * 1e6:.1f} | {last * 1e6:.1f} | "
                f"{last / first:.2f} | {wall:.1f} |",
                flush=True,
            )
    print(
        "\n| trials | scheduler | held by mftune schedulers/ (B/trial) | mftune searchers/ (B/trial) "
        "| ray/tune/schedulers/ (B/trial) |"
    )
    print("|---|---|---|---|---|")
    for n in sizes:
        for name, make in _schedulers("").items():
            if name.startswith("Ray") and n > ray_max:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                held = _held_bytes(make, n, tmp)
            print(
                f"| {n} | {name} | {held['mftune schedulers/'] / n:.0f} | {held['mftune searchers/'] / n:.0f} "
                f"| {held['ray/tune/schedulers/'] / n:.0f} |",
                flush=True,
            )


def suggest(sizes: list[int], repeats: int) -> None:
    from benchmarks.tpe_speed import MIXED_6D, loss
    from searchers.random_search import RandomSearcher
    from searchers.space import SearchSpace
    from searchers.tpe import TPESearcher

    print(f"\n## one suggestion after N finished trials, 6-D mixed space (median of {repeats})")
    print("| N | RandomSearcher ms | TPESearcher ms (g on the newest 2,000) |")
    print("|---|---|---|")
    space = SearchSpace(MIXED_6D)
    for n in sizes:
        row = []
        for cls in (RandomSearcher, TPESearcher):
            s = cls(space, metric="loss", mode="min", seed=0)
            rng = np.random.default_rng(0)
            for i in range(n):  # a history of random configurations, straight into the record
                flat = space.sample_flat(rng)
                s.record.add(f"h{i}", flat)
                s.record.complete(f"h{i}", loss(flat))
            times = []
            s.suggest("warm")  # TPE builds its table from the record once (as after a restore)
            for r in range(repeats):
                start = time.perf_counter()
                cfg = s.suggest(f"t{r}")
                times.append(time.perf_counter() - start)
                s.on_trial_complete(f"t{r}", {"loss": loss(space.to_flat(cfg))})
            row.append(statistics.median(times) * 1e3)
        print(f"| {n} | {row[0]:.3f} | {row[1]:.2f} |", flush=True)


def ray_run(trials: int, rounds: int) -> None:
    import psutil
    import ray
    from ray import tune
    from ray.tune.schedulers import AsyncHyperBandScheduler
    from ray.tune.search.basic_variant import BasicVariantGenerator

    from schedulers import ASHAScheduler
    from searchers.random_search import RandomSearcher

    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    clock = {"s": 0.0}

    def timed_class(cls, hooks):
        def wrap(name):
            method = getattr(cls, name)

            def timed(self, *args, **kwargs):
                start = time.thread_time()
                try:
                    return method(self, *args, **kwargs)
                finally:
                    clock["s"] += time.thread_time() - start

            return timed

        return type("Timed" + cls.__name__, (cls,), {h: wrap(h) for h in hooks if hasattr(cls, h)})

    def trainable(config):
        for epoch in range(1, MAX_T + 1):
            tune.report({"loss": _curve(config["x"], config["y"], epoch), "epoch": epoch})

    def rss_mib() -> float:
        return psutil.Process().memory_info().rss / 2**20

    class Memory(tune.Callback):
        def __init__(self):
            self.samples: list[tuple[int, float]] = []
            self.results = 0
            self.started = 0

        def on_trial_start(self, iteration, trials, trial, **info):
            self.started += 1
            if self.started % max(trials_per_sample, 1) == 0:
                self.samples.append((self.started, rss_mib()))

        def on_trial_result(self, iteration, trials, trial, result, **info):
            self.results += 1

    trials_per_sample = max(trials // 10, 1)
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    configs = {
        "mftune ASHA + RandomSearcher": lambda: (
            timed_class(ASHAScheduler, SCHED_HOOKS)(
                max_resource=MAX_T, reduction_factor=ETA, rule="stopping", resource_attr="epoch", seed=0
            ),
            timed_class(RandomSearcher, SEARCH_HOOKS + ("set_search_properties",))(seed=0),
        ),
        "Ray ASHA + BasicVariantGenerator": lambda: (
            timed_class(AsyncHyperBandScheduler, SCHED_HOOKS)(
                time_attr="epoch", max_t=MAX_T, grace_period=1, reduction_factor=ETA
            ),
            timed_class(BasicVariantGenerator, ("next_trial", "on_trial_result", "on_trial_complete"))(random_state=0),
        ),
    }
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            order = list(configs.items())
            for name, make in order if r % 2 == 0 else order[::-1]:  # alternate who goes first
                scheduler, search = make()
                memory = Memory()
                clock["s"] = 0.0
                gc.collect()
                rss0 = rss_mib()
                tuner = tune.Tuner(
                    trainable,
                    param_space=space_2d(),
                    tune_config=tune.TuneConfig(
                        metric="loss",
                        mode="min",
                        scheduler=scheduler,
                        search_alg=search,
                        num_samples=trials,
                        max_concurrent_trials=2 if name.startswith("mftune") else None,
                        reuse_actors=True,
                    ),
                    run_config=tune.RunConfig(
                        name=f"scale-{r}-{len(rows)}", storage_path=tmp, verbose=0, callbacks=[memory]
                    ),
                )
                start, cpu = time.perf_counter(), time.thread_time()
                grid = tuner.fit()
                wall, cpu = time.perf_counter() - start, time.thread_time() - cpu
                rows.append((name, len(grid), memory.results, wall, cpu, clock["s"], rss0, memory.samples))
                print(
                    f"{name}: {len(grid)} trials, {memory.results} results, {wall:.1f} s, "
                    f"hooks {clock['s']:.2f} s, rss {rss0:.0f} -> {memory.samples[-1][1] if memory.samples else 0:.0f} MiB",
                    flush=True,
                )
    print(f"\n## real Ray Tune, {trials} trials each, {rounds} round(s), ray.init(num_cpus=2), reuse_actors")
    print(
        "| configuration | trials | results | Tune wall ms/result | driver loop CPU ms/result "
        "| scheduler+searcher hooks CPU ms/result | hooks / driver CPU | driver RSS growth MiB per 1,000 trials |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, n, results, wall, cpu, hooks, _rss0, samples in rows:
        if len(samples) >= 2:
            (t0, m0), (t1, m1) = samples[0], samples[-1]
            growth = (m1 - m0) / max(t1 - t0, 1) * 1000
        else:
            growth = math.nan
        print(
            f"| {name} | {n} | {results} | {wall / results * 1e3:.2f} | {cpu / results * 1e3:.2f} "
            f"| {hooks / results * 1e3:.3f} | {hooks / cpu:.1%} | {growth:.1f} |"
        )
    ray.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("part", choices=("emulated", "suggest", "ray"))
    ap.add_argument("--trials", type=int, nargs="+", default=[10000, 50000])
    ap.add_argument("--ray-asha-max", type=int, default=10000, help="largest emulated run of Ray's ASHA")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--ray-trials", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    print(f"# benchmarks/scale.py {args.part} on {platform.processor() or platform.machine()}, numpy {np.__version__}")
    if args.part == "emulated":
        emulated(args.trials, args.ray_asha_max)
    elif args.part == "suggest":
        suggest(args.sizes, args.repeats)
    else:
        ray_run(args.ray_trials, args.rounds)


if __name__ == "__main__":
    main()
