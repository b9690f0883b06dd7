"""``python -m pipeline.advise`` on digits, small: one real calibration (its costs and
correlations checked through a spy on ``calibrate``) and a proposal that builds. One run
serves both checks because the calibration is the expensive part (a Ray start and 3 x 8
trainings)."""

import tempfile

import pytest
import yaml

from pipeline import advise
from pipeline.config import build

pytestmark = pytest.mark.ray


def test_advise_cli_calibrates_digits_and_prints_a_pipeline_that_builds(tmp_path, capsys, monkeypatch, ray_local):
    measured = []
    real_calibrate = advise.calibrate

    def spy(*args, **kwargs):
        measured.append(real_calibrate(*args, **kwargs))
        return measured[-1]

    monkeypatch.setattr(advise, "calibrate", spy)
    work = tmp_path / "cwd"
    scratch = tmp_path / "scratch"  # where the calibration's temporary experiment goes
    work.mkdir()
    scratch.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    rc = advise.main(["--task", "digits", "--configs", "3", "--fractions", "0.3,1", "--max-epochs", "2"])
    assert rc == 0
    # the calibration: 2 resolutions x 2 fractions x epochs {1, 2}, each level measured
    [(levels, ref)] = measured
    assert len(levels) == 8 and ref.name == "r8-f100-e2"
    assert ref.rho == pytest.approx(1.0)  # the reference against itself
    assert all(lv.cost > 0 and lv.rho is not None for lv in levels)
    cheap = next(lv for lv in levels if lv.name == "r4-f30-e1")
    assert cheap.cost < ref.cost
    assert list(work.iterdir()) == [] and list(scratch.iterdir()) == []  # it leaves nothing behind
    # the proposal
    out = capsys.readouterr().out
    text = out[out.index("# proposed by") :]
    proposal = yaml.safe_load(text)
    cfg = build(proposal, check_data=False)
    assert cfg.stages[-1].fidelity.max_epochs == 2 and cfg.stages[-1].fidelity.data_fraction == 1.0
    assert "one stage at the reference fidelity" in out
