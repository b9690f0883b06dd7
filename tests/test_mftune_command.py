"""The ``mftune`` console script (pipeline.cli) and the pipeline-extra check: usage, an
unknown command, a bad flag through ``mftune run``, and the one line a core-only install gets."""

import importlib
import importlib.util
import subprocess
import sys

import pytest

from pipeline import cli, extras
from tests.pipeline_runs import ROOT


def test_usage_lists_the_commands(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: mftune {run,compare,report}") and "report" in out
    assert cli.main([]) == 2


def test_unknown_command_is_one_line(capsys):
    assert cli.main(["fit"]) == 2
    assert capsys.readouterr().err == "mftune: error: unknown command 'fit'; allowed: run, compare, report\n"


def test_mftune_run_is_pipeline_run_under_its_own_name():
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", "--resolution", "5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "mftune run: error: --resolution: digits allows 8, 4, got 5"


def test_report_on_a_non_experiment_directory(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path)]) == 2
    assert "is not an mftune experiment directory" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["run", "compare", "report"])
def test_without_the_pipeline_extra_every_command_says_what_to_install(monkeypatch, capsys, command):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        extras.importlib.util, "find_spec", lambda name, *a: None if name in ("torch", "matplotlib") else real(name, *a)
    )
    assert cli.main([command, "x"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"mftune {command}: error: the pipeline needs mftune's 'pipeline' extra (missing: torch, matplotlib); "
        'install it with: pip install "mftune[pipeline]"\n'
    )
    module = {"run": "pipeline.run", "compare": "pipeline.compare", "report": "pipeline.report"}[command]
    main = importlib.import_module(module).main
    assert main(["x"]) == 2
    assert 'pip install "mftune[pipeline]"' in capsys.readouterr().err
