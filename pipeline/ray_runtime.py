"""Starting or joining Ray with its console noise turned down.

Measured on Ray 2.60: ``verbose=0`` alone still prints a header box and TensorBoard
hints (``RAY_AIR_NEW_OUTPUT=0`` removes them); stopped workers sometimes print a
``sigterm_handler`` traceback (``log_to_driver=False`` hides worker output, which
stays in /tmp/ray/session_*/logs). ``--verbose`` turns everything back on.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import warnings
from types import FrameType

from pipeline.errors import UsageError

#: how long ``--address HOST:PORT`` may take to accept a connection before we give up
#: (Ray itself retries for minutes, printing warnings, when nothing listens there)
ADDRESS_TIMEOUT_S = 10.0

QUIET_ENV = {
    "RAY_AIR_NEW_OUTPUT": "0",
    "RAY_TRAIN_ENABLE_V2_MIGRATION_WARNINGS": "0",
    "RAY_DEDUP_LOGS": "1",
    "TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S": "60",
}


def quiet_environment(verbose: bool) -> None:
    """Set before Ray is imported; values the user set themselves win."""
    if verbose:
        return
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    # This is the CLI's own process: silencing Ray's deprecation chatter is ours to do.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"ray(\.|$)")
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"ray(\.|$)")


def quiet_loggers(verbose: bool) -> None:
    """Ray's loggers at ERROR (the CLI's own process only); Ray configures them on import."""
    import ray  # noqa: F401  (importing Ray sets its loggers up; adjust them afterwards)

    for name in ("ray", "ray.tune", "ray.train"):
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.ERROR)
    controller = logging.getLogger("ray.tune.execution.tune_controller")
    if not verbose and not any(isinstance(f, StaleCheckpointFilter) for f in controller.filters):
        controller.addFilter(StaleCheckpointFilter())
    if not verbose:
        for name in ("ray.tune.execution.tune_controller", "ray.tune.tune"):
            logger = logging.getLogger(name)
            if not any(isinstance(f, TrialFailureFilter) for f in logger.filters):
                logger.addFilter(TrialFailureFilter())
        _quiet_raylet_notices()


def init(address: str | None, verbose: bool) -> dict[str, float]:
    """Start an embedded Ray (address None) or join a cluster; return its total resources."""
    import ray

    if not ray.is_initialized():
        if address is not None:
            check_address(address)
        try:
            ray.init(
                address=address,
                log_to_driver=verbose,
                include_dashboard=False,
                logging_level=logging.INFO if verbose else logging.ERROR,
            )
        except (ConnectionError, ValueError, RuntimeError) as err:
            if address is None:
                raise
            raise UsageError("address", f"cannot join the Ray cluster at {address}: {_first_line(err)}") from None
        stop_on_sigterm()
    quiet_loggers(verbose)
    return {k: float(v) for k, v in ray.cluster_resources().items()}


def stop_on_sigterm() -> None:
    """Make SIGTERM stop the experiment the way Ctrl-C does: saved, resumable, one line.

    ``ray.init`` replaces the driver's SIGTERM handler with ``sys.exit`` (and Ray's core
    worker may put its failure handler there, which aborts with a stack dump): measured on
    Ray 2.60, a SIGTERM from a job scheduler, ``timeout`` or ``kill`` left the session
    marked failed and printed no way back. This hands SIGTERM to whatever handles SIGINT
    at that moment: inside ``Tuner.fit`` Tune's own handler (it snapshots the experiment and
    stops, and the pipeline prints ``--resume``); elsewhere Python's, a KeyboardInterrupt.
    A second SIGTERM, like a second Ctrl-C, skips the snapshot. Called only right after
    we started Ray ourselves, in the main thread, so a handler of the user's is never
    replaced (Ray had replaced it already).
    """
    if threading.current_thread() is not threading.main_thread():
        return

    def forward(signum: int, frame: FrameType | None) -> None:
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            handler(signal.SIGINT, frame)
        else:  # SIG_IGN or SIG_DFL set by someone else: still stop, as Ctrl-C would by default
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, forward)


def check_address(address: str, timeout_s: float = ADDRESS_TIMEOUT_S) -> None:
    """Fail fast when nothing accepts connections at ``HOST:PORT`` (``auto``: Ray checks)."""
    if address in ("auto", "local"):
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError("address", f"must be auto or HOST:PORT (e.g. 10.0.0.1:6379), got {address!r}")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as err:
        why = "no answer" if isinstance(err, TimeoutError) else (err.strerror or str(err))
        raise UsageError(
            "address", f"cannot reach {host}:{port} within {timeout_s:g} s ({why}); is the Ray head running there?"
        ) from None


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


class TrialFailureFilter(logging.Filter):
    """Drops Ray's traceback for a failed trial and its "Trials did not complete" summary.

    In quiet mode the pipeline reports each failure as one line (exception and the path
    of the trial's error.txt, ``pipeline.progress``) and the count at the end of the stage.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        msg = str(record.msg)
        return not (msg.startswith("Trial task failed for trial") or msg.startswith("Trials did not complete"))


def _quiet_raylet_notices() -> None:
    """Silence the raylet's "A worker died or was killed ..." notices on the driver.

    Ray prints them from a background thread through ``ray._private.worker.print_to_stdstream``
    (``log_to_driver=False`` does not cover them); the trial they concern already fails
    with ActorDiedError, which the pipeline's one-line failure report names. Done by
    replacing that function for messages from the raylet only; if a future Ray moves it,
    the notices simply show again.
    """
    try:
        from ray._private import worker
    except ImportError:
        return
    original = getattr(worker, "print_to_stdstream", None)
    if original is None or getattr(original, "mftune_quiet", False):
        return

    def print_to_stdstream(data, ignore_prefix):
        if isinstance(data, dict) and data.get("pid") == "raylet":
            return None
        return original(data, ignore_prefix)

    print_to_stdstream.mftune_quiet = True
    worker.print_to_stdstream = print_to_stdstream


class StaleCheckpointFilter(logging.Filter):
    """Drops Ray's traceback for deleting a checkpoint that is already gone.

    After ``Tuner.restore`` the snapshot may list a checkpoint that ``num_to_keep``
    deleted before the driver died; Ray then fails to delete it again, logs the
    FileNotFoundError and carries on (the trial is unaffected).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (isinstance(exc, FileNotFoundError) and "Error handling checkpoint" in str(record.msg))


def concurrency(resources: dict[str, float], cpus_per_trial: float, gpus_per_trial: float) -> int:
    """How many trials the cluster can run at once (0: not even one fits)."""
    fits = [int(resources.get("CPU", 0.0) // cpus_per_trial + 1e-9)]
    if gpus_per_trial > 0:
        fits.append(int(resources.get("GPU", 0.0) // gpus_per_trial + 1e-9))
    return max(0, min(fits))


#: Ray snapshots experiment state every max(10 s, 19 x save time) by default, so a killed
#: driver could lose that much progress; once a second bounds it (measured cost in
#: docs/benchmarks.md). Results themselves are also in the pipeline's events log.
SNAPSHOT_ENV = {"TUNE_GLOBAL_CHECKPOINT_S": "1"}


def snapshot_often() -> None:
    """Set before a Tuner is built; a value the user set themselves wins."""
    for key, value in SNAPSHOT_ENV.items():
        os.environ.setdefault(key, value)
