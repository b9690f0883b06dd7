"""The KL-controlled model-use horizon: hand-computed cases of the pure rule."""

import pytest

from searchers.rl.horizon import HorizonRule, keep_round, next_horizon

RULE = HorizonRule(kl_low=0.01, kl_high=0.1, min_horizon=1, max_horizon=5)


@pytest.mark.parametrize(
    "horizon, kl, expected",
    [
        (4, 0.5, 2),  # above the range: halve
        (5, 0.1000001, 2),  # just above: 5 // 2
        (1, 0.5, 1),  # never below min_horizon
        (2, 0.05, 3),  # inside: one more round
        (2, 0.01, 3),  # the range's ends are inside
        (2, 0.1, 3),
        (5, 0.05, 5),  # capped at max_horizon
        (3, 0.001, 3),  # below: the model taught nothing, horizon stays
        (3, 0.0, 3),
    ],
)
def test_next_horizon(horizon, kl, expected):
    assert next_horizon(horizon, kl, RULE) == expected


def test_a_round_is_kept_up_to_kl_high_only():
    assert keep_round(0.0, RULE) and keep_round(0.1, RULE)
    assert not keep_round(0.1000001, RULE)


def test_a_shrunk_horizon_grows_back_while_the_kl_stays_inside():
    h = 4
    h = next_horizon(h, 1.0, RULE)  # 2
    h = next_horizon(h, 1.0, RULE)  # 1
    assert h == 1
    for expected in (2, 3, 4, 5, 5):
        h = next_horizon(h, 0.05, RULE)
        assert h == expected


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kl_low": 0.2, "kl_high": 0.1}, "kl_low < kl_high"),
        ({"kl_low": -1.0}, "kl_low < kl_high"),
        ({"min_horizon": 0}, "min_horizon <= max_horizon"),
        ({"min_horizon": 3, "max_horizon": 2}, "min_horizon <= max_horizon"),
    ],
)
def test_bad_settings_name_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        HorizonRule(**kwargs)
