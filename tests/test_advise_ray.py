"""``python -m pipeline.advise`` on digits, small: a real calibration and a proposal that builds."""

import pytest
import yaml

from pipeline import advise
from pipeline.config import build

pytestmark = pytest.mark.ray


def test_calibration_on_digits_measures_cost_and_correlation(tmp_path, capsys, ray_local):
    cfg = build({"task": "digits", "max_epochs": 2, "seed": 1, "output": str(tmp_path / "unused")})
    levels, ref = advise.calibrate(cfg, 4, (0.3, 1.0), say=lambda line: None)
    # 2 resolutions x 2 fractions x epochs {1, 2}
    assert len(levels) == 8 and ref.name == "r8-f100-e2"
    assert ref.rho == pytest.approx(1.0)  # the reference against itself
    assert all(lv.cost > 0 and lv.rho is not None for lv in levels)
    cheap = next(lv for lv in levels if lv.name == "r4-f30-e1")
    assert cheap.cost < ref.cost
    assert not (tmp_path / "unused").exists()  # the calibration leaves nothing behind


def test_advise_cli_prints_a_pipeline_that_builds(tmp_path, capsys, ray_local):
    rc = advise.main(["--task", "digits", "--configs", "3", "--fractions", "0.3,1", "--max-epochs", "2"])
    assert rc == 0
    out = capsys.readouterr().out
    text = out[out.index("# proposed by") :]
    proposal = yaml.safe_load(text)
    cfg = build(proposal, check_data=False)
    assert cfg.stages[-1].fidelity.max_epochs == 2 and cfg.stages[-1].fidelity.data_fraction == 1.0
    assert "one stage at the reference fidelity" in out
