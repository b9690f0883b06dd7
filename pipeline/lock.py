"""One driver per experiment directory: an exclusive ``flock`` held for the driver's whole life.

Two drivers on one directory (a ``--resume`` while the original still runs, or two
resumes started together) would both restore the running stage and both write the
results: more trials than the budget, and a ``best.json`` that disagrees with what one
of them printed. The lock is ``fcntl.flock`` on ``<dir>/.mftune.lock``: the kernel
drops it when the holder's descriptor closes, so it is released on every exit, SIGKILL
included, and never goes stale. The file itself stays (deleting it would let a third
driver lock a new file while a second still waits on the old one); it holds the
holder's PID and host, which is what the second driver's error names.

On NFS, Linux implements ``flock`` with NFS byte-range locks (kernel >= 2.6.12), so the
lock also holds between the nodes of a cluster that share the directory.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path

from pipeline.errors import UsageError
from pipeline.layout import LOCK_FILE


class ExperimentLock:
    """Held from :meth:`acquire` until :meth:`release` (or the process ends)."""

    def __init__(self, directory: Path, field: str):
        self.directory = Path(directory)
        self.field = field  # the setting named in the error: "output" or "resume"
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        return self.directory / LOCK_FILE

    def acquire(self) -> ExperimentLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as err:
            raise UsageError(self.field, f"cannot create {self.path}: {err.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            raise UsageError(
                self.field,
                f"{self.directory} is in use by {holder}; wait for that driver to finish or stop it, "
                "then --resume the directory",
            ) from None
        except OSError as err:  # a filesystem without locks: refuse rather than run unprotected
            os.close(fd)
            raise UsageError(self.field, f"cannot lock {self.path}: {err.strerror}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
        self._fd = fd
        return self

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self) -> ExperimentLock:
        return self.acquire() if self._fd is None else self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read(fd: int) -> str:
    """'PID N on HOST' from the lock file (written by the holder right after it locked)."""
    try:
        pid, host = os.pread(fd, 4096, 0).decode().split()
        return f"PID {int(pid)} on {host}"
    except (OSError, ValueError, UnicodeDecodeError):
        return "another driver (it has not written its PID yet)"
