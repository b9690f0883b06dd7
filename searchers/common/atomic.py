"""One way to write a file that must survive a crash: temporary file, fsync, ``os.replace``.

A reader (or a resumed run) then sees the old content or the new, never half of a file.
The temporary file is created beside the target (or in ``scratch``, a directory on the
same filesystem) and gets the permissions an ordinary ``open()`` would give (``mkstemp``
alone makes it 0600, which would leave result files unreadable to the rest of a group).
Used by the searchers' saved state, the schedulers' state file and the pipeline's
result files and downloads.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable


def _umask() -> int:
    """The process umask, read without changing it where /proc allows (os.umask would, for a
    moment, in every thread)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # no /proc: read by setting it (at import, before Ray's threads start)
    os.umask(mask)
    return mask


#: Read once at import: os.umask can only be read by setting it.
_FILE_MODE = 0o666 & ~_umask()


def atomic_write(path: str | os.PathLike[str], write: Callable[[str], None], *, scratch: str | None = None) -> None:
    """Call ``write(tmp_path)`` to fill a temporary file, then move it onto ``path``.

    ``write`` may open ``tmp_path`` itself (``df.to_csv(tmp)``, ``fig.savefig(tmp)``).
    The data is fsynced before the rename; on any error the temporary file is removed and
    ``path`` is untouched.
    """
    target = os.fspath(path)
    directory = scratch or os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
    os.close(fd)
    try:
        os.chmod(tmp, _FILE_MODE)
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, scratch: str | None = None) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(data)

    atomic_write(path, write, scratch=scratch)


def atomic_write_text(path: str | os.PathLike[str], text: str, *, scratch: str | None = None) -> None:
    atomic_write_bytes(path, text.encode(), scratch=scratch)
