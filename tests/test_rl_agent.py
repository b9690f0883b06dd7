"""The LSTM agent over a conditional space, PPO's update direction, reward scales."""

import math

import numpy as np
import pytest
import torch

from searchers.rl.policy import LSTMPolicy
from searchers.rl.ppo import PPOSettings, adapted_lr, advantages, policy_kl, ppo_update
from searchers.rl.rewards import RewardScale
from searchers.rl.steps import StepPlan
from searchers.rl.threads import torch_threads
from searchers.space import Categorical, Float, Int, SearchSpace


@pytest.fixture(autouse=True)
def one_torch_thread():
    """As the searcher runs: on a busy machine, torch's default threads make these 10x slower."""
    with torch_threads(1):
        yield


COND = SearchSpace(
    {
        "s": Float(-1.0, 1.0),
        "model": Categorical(
            [
                {"kind": "a", "x": Float(1e-3, 1.0, log=True), "y": Float(0.0, 1.0)},
                {"kind": "b", "n": Int(1, 20)},
                "plain",
            ]
        ),
        "act": Categorical(["relu", "tanh"]),
    }
)


def test_sampled_episodes_are_valid_configurations_of_the_branch_they_chose():
    gen = torch.Generator().manual_seed(0)
    plan = StepPlan(COND)
    policy = LSTMPolicy(plan, gen)
    steps, logp, ent = policy.sample(300, gen)
    flats = plan.decode(steps)
    branches = set()
    for flat in flats:
        assert COND.canonical_flat(flat) == flat  # every active parameter, and only those
        COND.from_flat(flat)  # a config the trainable could get
        branches.add(flat["model"])
    assert branches == {0, 1, 2}  # the fresh policy is uniform over options
    # inactive steps carry neither probability nor entropy
    assert torch.all(logp[~steps.active] == 0) and torch.all(ent[~steps.active] == 0)
    x_step = plan.params.index(COND["model[0]/x"])
    assert steps.active[:, x_step].tolist() == [f["model"] == 0 for f in flats]


def test_log_probabilities_do_not_depend_on_the_batch():
    gen = torch.Generator().manual_seed(1)
    plan = StepPlan(COND)
    policy = LSTMPolicy(plan, gen)
    steps, logp_sampled, _ = policy.sample(40, gen)
    with torch.no_grad():
        logp_batch, _ = policy.evaluate(steps)
        logp_alone = torch.cat([policy.evaluate(steps.take(slice(i, i + 1)))[0] for i in range(40)])
    torch.testing.assert_close(logp_batch, logp_sampled)
    torch.testing.assert_close(logp_alone, logp_batch, rtol=1e-5, atol=1e-5)


def test_encode_decode_round_trip_on_the_grid():
    plan = StepPlan(COND)
    rng = np.random.default_rng(0)
    flats = [COND.sample_flat(rng) for _ in range(50)]
    back = plan.decode(plan.encode(flats))  # numeric actions are float32
    for flat, again in zip(flats, back):
        assert again.keys() == flat.keys()
        for name, v in flat.items():
            assert again[name] == (
                v if COND[name].is_discrete or COND[name].is_categorical else pytest.approx(v, rel=1e-5)
            )


def test_param_order_must_decide_a_branch_before_its_parameters():
    StepPlan(COND, ["act", "model", "model[1]/n", "model[0]/y", "model[0]/x", "s"])
    with pytest.raises(ValueError, match="'model' decides whether 'model\\[1\\]/n' is active"):
        StepPlan(COND, ["model[1]/n", "model", "model[0]/x", "model[0]/y", "s", "act"])
    with pytest.raises(ValueError, match="every parameter once"):
        StepPlan(COND, ["s"])


def _train(space, reward_fn, iters=25, seed=0):
    gen = torch.Generator().manual_seed(seed)
    plan = StepPlan(space)
    policy = LSTMPolicy(plan, gen)
    opt = torch.optim.Adam(policy.parameters(), lr=0.007)
    before, _, _ = policy.sample(4000, torch.Generator().manual_seed(99))
    for _ in range(iters):
        steps, _, _ = policy.sample(64, gen)
        ppo_update(policy, opt, steps, advantages(reward_fn(steps)), PPOSettings())
    after, _, _ = policy.sample(4000, torch.Generator().manual_seed(99))
    return before, after


def test_ppo_moves_the_gaussian_mean_towards_the_rewarded_region():
    space = SearchSpace({"x": Float(0.0, 1.0)})
    before, after = _train(space, lambda s: -((s.num[:, 0] - 0.6) ** 2))
    # the fresh policy is centred at 0 with sigma 0.5 (clipped to [-1, 1]): mean 0 within 4 s.e.
    assert abs(before.num[:, 0].mean().item()) < 4 * 0.5 / math.sqrt(4000)
    m = after.num[:, 0].mean().item()
    assert abs(m - 0.6) < 0.15, m
    assert after.num[:, 0].std() < before.num[:, 0].std()  # and it narrows around it


def test_ppo_raises_the_probability_of_the_rewarded_option():
    space = SearchSpace({"c": Categorical(["a", "b", "c", "d"])})
    before, after = _train(space, lambda s: (s.cat[:, 0] == 2).float())
    assert abs((before.cat[:, 0] == 2).float().mean().item() - 0.25) < 0.03
    assert (after.cat[:, 0] == 2).float().mean().item() > 0.6


def test_policy_kl_is_zero_for_the_same_policy_and_positive_after_an_update():
    gen = torch.Generator().manual_seed(3)
    plan = StepPlan(COND)
    policy = LSTMPolicy(plan, gen)
    probe, logp, _ = policy.sample(256, gen)
    with torch.no_grad():
        assert policy_kl(logp, policy.evaluate(probe)[0]) == pytest.approx(0.0, abs=1e-9)
    opt = torch.optim.Adam(policy.parameters(), lr=0.007)
    steps, _, _ = policy.sample(64, gen)
    ppo_update(policy, opt, steps, advantages(steps.num[:, 0]), PPOSettings())
    with torch.no_grad():
        assert policy_kl(logp, policy.evaluate(probe)[0]) > 1e-4


@pytest.mark.parametrize(
    "kl, expected",
    [
        (0.03, 0.004 / 1.5),  # over 2x target: slower
        (0.0201, 0.004 / 1.5),
        (0.02, 0.004),  # [target / 2, 2 x target]: unchanged
        (0.005, 0.004),
        (0.0049, 0.006),  # under target / 2: faster
        (0.0, 0.006),
    ],
)
def test_the_learning_rate_adapts_to_the_kl_of_an_update(kl, expected):
    settings = PPOSettings(target_kl=0.01, lr_min=1e-4, lr_max=0.007)
    assert adapted_lr(0.004, kl, settings) == pytest.approx(expected)


def test_the_adapted_learning_rate_stays_within_its_bounds_and_is_fixed_without_a_target():
    settings = PPOSettings(target_kl=0.01, lr_min=1e-4, lr_max=0.007)
    assert adapted_lr(0.006, 0.0, settings) == 0.007
    assert adapted_lr(1.2e-4, 1.0, settings) == 1e-4
    assert adapted_lr(0.004, 1.0, PPOSettings(target_kl=None)) == 0.004


def _update(lr, probe=True, target_kl=0.01):
    gen = torch.Generator().manual_seed(5)
    policy = LSTMPolicy(StepPlan(COND), gen)
    opt = torch.optim.Adam(policy.parameters(), lr=lr)
    steps, _, _ = policy.sample(64, gen)
    fresh, _, _ = policy.sample(64, gen)
    settings = PPOSettings(epochs=4, target_kl=target_kl, lr_min=1e-7, lr_max=1.0)
    kl, epochs = ppo_update(policy, opt, steps, advantages(steps.num[:, 0]), settings, fresh if probe else None)
    return kl, epochs, opt.param_groups[0]["lr"]


def test_an_update_that_moves_the_policy_too_far_stops_after_that_epoch_and_slows_down():
    kl, epochs, lr = _update(lr=0.5)
    assert epochs == 1 and kl > 1.5 * 0.01  # checked after every epoch: the first one overshot
    assert lr == pytest.approx(0.5 / 1.5)


def test_a_small_update_runs_every_epoch_and_speeds_up():
    kl, epochs, lr = _update(lr=1e-6)
    assert epochs == 4 and 0 <= kl < 0.005
    assert lr == pytest.approx(1.5e-6)


def test_without_a_probe_or_a_target_an_update_runs_every_epoch_at_a_fixed_rate():
    assert _update(lr=0.5, probe=False)[1:] == (4, 0.5)
    assert _update(lr=0.5, target_kl=None)[1:] == (4, 0.5)


def test_advantages_are_centred_and_scaled_and_zero_when_flat():
    a = advantages(torch.tensor([1.0, 2.0, 3.0, 6.0]))
    assert a.mean().item() == pytest.approx(0.0, abs=1e-6)
    assert a.pow(2).mean().item() == pytest.approx(1.0, rel=1e-6)
    assert torch.all(advantages(torch.full((5,), 3.0)) == 0)


def test_reward_scales():
    losses = np.array([3.0, 1.0, 2.0, 1e6])
    rank = RewardScale(losses, "rank")
    # mid-rank F: 1 -> 0.5/4, 2 -> 1.5/4, 3 -> 2.5/4, 1e6 -> 3.5/4; reward = 1 - 2F
    np.testing.assert_allclose(rank(losses), [1 - 2 * 2.5 / 4, 1 - 2 * 0.5 / 4, 1 - 2 * 1.5 / 4, 1 - 2 * 3.5 / 4])
    assert rank(np.array([0.0]))[0] == 1.0 and rank(np.array([2e6]))[0] == -1.0  # beyond every real loss
    z = RewardScale(np.array([1.0, 3.0]), "zscore")
    np.testing.assert_allclose(z(np.array([1.0, 3.0, 100.0])), [1.0, -1.0, -3.0])  # clipped at 3
    with pytest.raises(ValueError, match="reward_norm must be one of rank, zscore"):
        RewardScale(losses, "minmax")
