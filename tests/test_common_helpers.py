"""The shared helpers in searchers/common: atomic writes (old or new content, ordinary
permissions, nothing left behind on error), the finite-value rule and the mode check."""

import math
import os
import stat

import numpy as np
import pytest

from searchers.common.atomic import atomic_write, atomic_write_text
from searchers.common.checks import check_mode, finite_or_none


def test_atomic_write_replaces_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "state.json"
    atomic_write_text(target, "old")
    atomic_write(target, lambda tmp: open(tmp, "w").write("new"))
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["state.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600


def test_a_failed_write_keeps_the_old_content(tmp_path):
    target = tmp_path / "state.json"
    atomic_write_text(target, "old")

    def broken(tmp):
        open(tmp, "w").write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, broken)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["state.json"]


def test_scratch_directory_holds_the_temporary_file(tmp_path):
    (tmp_path / "staging").mkdir()
    seen = []
    atomic_write(
        tmp_path / "staging" / "s.json",
        lambda tmp: seen.append(os.path.dirname(tmp)) or open(tmp, "w").close(),
        scratch=str(tmp_path),
    )
    assert seen == [str(tmp_path)]


@pytest.mark.parametrize(
    "value, expected",
    [
        (1, 1.0),
        (0.5, 0.5),
        ("2.5", 2.5),
        (np.float32(3), 3.0),
        (math.nan, None),
        (math.inf, None),
        (None, None),
        (True, None),
        ("x", None),
        ([1], None),
    ],
)
def test_finite_or_none(value, expected):
    assert finite_or_none(value) == expected


def test_check_mode():
    check_mode("min"), check_mode("max"), check_mode(None)
    with pytest.raises(ValueError, match="mode must be 'min' or 'max', got 'maximize'"):
        check_mode("maximize")
    with pytest.raises(ValueError):
        check_mode(None, allow_none=False)
