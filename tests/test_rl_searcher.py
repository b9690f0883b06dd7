"""RLSearcher through Ray's Searcher callbacks (no Ray started): seeds, save/restore,
points_to_evaluate, failures, pending trials, torch threads, bad settings."""

import math
import pickle

import pytest
import torch

from searchers import RLSearcher, SearchSpace
from searchers.record import COMPLETE, FAILED
from searchers.space import Categorical, Float, Int

SPACE = {
    "lr": Float(1e-4, 1e-1, log=True),
    "opt": Categorical([{"name": "sgd", "momentum": Float(0.0, 0.99)}, {"name": "adam", "beta1": Float(0.8, 0.999)}]),
    "layers": Int(1, 4),
}
# small settings so a test takes a second; the algorithm is the same
FAST = {"n_startup_trials": 4, "imagined_episodes": 16, "ppo_epochs": 2, "max_horizon": 3}


def loss(config):
    opt = config["opt"]
    extra = (opt["momentum"] - 0.9) ** 2 if opt["name"] == "sgd" else 0.2 + (opt["beta1"] - 0.9) ** 2
    return (math.log10(config["lr"]) + 2.5) ** 2 + 0.1 * (config["layers"] - 2) ** 2 + extra


def drive(searcher, n, start=0, pending=1):
    """n suggestions, ``pending`` in flight, oldest finished first; returns the configs."""
    configs, queue = [], []
    for i in range(start, start + n):
        tid = f"t{i}"
        cfg = searcher.suggest(tid)
        configs.append(cfg)
        queue.append((tid, cfg))
        if len(queue) >= pending:
            tid0, cfg0 = queue.pop(0)
            searcher.on_trial_complete(tid0, {"loss": loss(cfg0)})
    for tid0, cfg0 in queue:
        searcher.on_trial_complete(tid0, {"loss": loss(cfg0)})
    return configs


def make(seed=0, **kw):
    return RLSearcher(SPACE, metric="loss", mode="min", seed=seed, **{**FAST, **kw})


def test_same_seed_same_suggestions_other_seed_other_suggestions():
    a, b, c = make(0), make(0), make(1)
    ca, cb, cc = drive(a, 14), drive(b, 14), drive(c, 14)
    assert ca == cb
    assert ca[4:] != cc[4:]
    assert a.core.n_trained == 13  # the agent trained on the real results (13 done when t13 was asked)


@pytest.mark.parametrize("reward_model", ["gp", "mlp", "none"])
def test_save_restore_mid_run_gives_the_same_next_suggestions(tmp_path, reward_model):
    s = make(3, reward_model=reward_model)
    drive(s, 10)
    s.suggest("p")  # in flight at the save: gets its reward after the restore
    path = tmp_path / "state.pkl"
    s.save(str(path))
    restored = RLSearcher()
    restored.restore(str(path))
    for searcher in (s, restored):
        searcher.on_trial_complete("p", {"loss": 0.5})
    assert drive(restored, 6, start=10) == drive(s, 6, start=10)
    assert restored.core.horizon == s.core.horizon and restored.core.n_trained == s.core.n_trained
    # the saved state holds the agent and its optimizer, not just settings
    extra = pickle.load(open(path, "rb"))["extra"]
    assert set(extra["core"].__getstate__()["_saved_nets"]) == {"policy", "optimizer"}


def test_points_to_evaluate_come_first_and_enter_training():
    points = [
        {"lr": 0.003, "opt": {"name": "adam", "beta1": 0.9}, "layers": 2},
        {"lr": 0.01, "opt": {"name": "sgd", "momentum": 0.5}, "layers": 1},
    ]
    s = RLSearcher(SPACE, metric="loss", mode="min", points_to_evaluate=points, **FAST)
    configs = drive(s, 6)
    assert configs[:2] == points
    assert len(s.record.with_state(COMPLETE)) == 6


def test_failed_and_nan_trials_are_recorded_as_failed_and_the_search_goes_on():
    s = make(0)
    drive(s, 5)
    s.suggest("err")
    s.on_trial_complete("err", error=True)
    s.suggest("nan")
    s.on_trial_complete("nan", {"loss": float("nan")})
    assert s.record.get("err").state == FAILED and s.record.get("nan").state == FAILED
    n = s.core.n_trained
    drive(s, 3, start=5)
    assert s.core.n_trained == n + 2  # failures give no reward; the next real results do


def test_pending_trials_get_different_configurations():
    s = make(0)
    configs = drive(s, 16, pending=4)
    keys = [repr(sorted(c.items())) for c in configs]
    assert len(set(keys)) == len(keys)


def test_mode_max_rewards_large_values():
    """With mode=max the agent is trained on the negated metric: its losses are the record's."""
    s = RLSearcher(SPACE, metric="score", mode="max", seed=0, **FAST)
    s.suggest("a")
    s.on_trial_complete("a", {"score": 3.0})
    assert s.record.get("a").loss == -3.0


def test_torch_threads_are_capped_while_suggesting_and_restored_after():
    previous = torch.get_num_threads()
    seen = []
    s = make(0)
    original = s.core.propose

    def spy(*args):
        seen.append(torch.get_num_threads())
        return original(*args)

    s.core.propose = spy
    try:
        torch.set_num_threads(2)
        s.suggest("a")
        assert seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"reward_model": "forest"}, "reward_model must be one of gp, mlp, none"),
        ({"reward_norm": "minmax"}, "reward_norm must be one of rank, zscore"),
        ({"fidelity": "lowest"}, "fidelity must be one of"),
        ({"n_startup_trials": 1}, "n_startup_trials must be an integer >= 2"),
        ({"n_threads": 0}, "n_threads must be an integer >= 1"),
        ({"kl_low": 0.5, "kl_high": 0.1}, "kl_low < kl_high"),
        ({"lr": -1.0}, "lr must be a number"),
        ({"target_kl": 0.0}, "target_kl must be a number"),
    ],
)
def test_bad_settings_name_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RLSearcher(SPACE, metric="loss", mode="min", **kwargs)


def test_the_reward_model_moves_the_agent_and_the_horizon_follows_the_kl():
    """The paper's central mechanism must act: model-based rounds are kept (their KL stays
    under kl_high) and the horizon grows past its start. With four unguarded Adam epochs
    per update (target_kl=None) every round overshot kl_high and was undone."""
    s = make(reward_model="gp")
    horizons = set()
    for i in range(30):
        tid = f"t{i}"
        s.on_trial_complete(tid, {"loss": loss(s.suggest(tid))})
        horizons.add(s.core.horizon)
    learned = 30 - FAST["n_startup_trials"]  # suggestions that trained the agent
    assert s.core.rounds_kept >= learned // 2, (s.core.rounds_kept, learned)
    assert max(horizons) > 2
    lr = s.core.optimizer.param_groups[0]["lr"]
    assert s.core.ppo.lr_min <= lr <= s.core.ppo.lr_max


def test_param_order_is_an_option():
    order = ["layers", "opt", "opt[1]/beta1", "opt[0]/momentum", "lr"]
    s = make(0, param_order=order)
    drive(s, 8)
    assert [p.name for p in s.core.plan.params] == order
    with pytest.raises(ValueError, match="must come first"):
        RLSearcher(
            SearchSpace(SPACE),
            metric="loss",
            mode="min",
            param_order=["opt[0]/momentum", "opt"] + order[2:3] + ["lr", "layers"],
            **FAST,
        ).suggest("x")
