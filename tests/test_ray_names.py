"""Ray Tune's argument names on mftune's schedulers, make_bohb and searchers (no Ray run):
what each alias sets, both names at once, Ray's positional order, and the warm start."""

import math
import warnings

import pytest

import schedulers
from schedulers import ASHAScheduler, HyperbandScheduler, make_bohb
from searchers import GPSearcher, RandomSearcher, TPESearcher
from searchers.record import COMPLETE, FAILED, PENDING
from searchers.space import Float, Int

SPACE = {"x": Float(0.0, 1.0), "n": Int(1, 4)}


def test_ray_scheduler_names_set_ours():
    ours = ASHAScheduler(resource_attr="epoch", min_resource=1, max_resource=27, reduction_factor=3)
    ray_named = ASHAScheduler(time_attr="epoch", max_t=27, grace_period=1, reduction_factor=3)
    assert ray_named.resource_attr == ours.resource_attr == "epoch"
    assert ray_named.resource_levels == ours.resource_levels == [1, 3, 9, 27]
    hb = HyperbandScheduler(time_attr="it", max_t=9, grace_period=3, reduction_factor=3, stop_last_trials=True)
    assert hb.resource_attr == "it" and hb.resource_levels == [3, 9]


def test_ray_spellings_of_the_class_names_are_ours():
    assert schedulers.HyperBandScheduler is HyperbandScheduler
    assert schedulers.AsyncHyperBandScheduler is ASHAScheduler


@pytest.mark.parametrize("cls", [ASHAScheduler, HyperbandScheduler])
def test_both_names_of_one_argument_is_an_error(cls):
    with pytest.raises(TypeError, match="'max_resource' or 'max_t', not both"):
        cls(max_t=9, max_resource=9)
    with pytest.raises(TypeError, match="'resource_attr' or 'time_attr'"):
        cls(time_attr="epoch", resource_attr="epoch")


@pytest.mark.parametrize(
    "args",
    [("epoch",), ("training_iteration",), ("epoch", "loss"), ("epoch", "loss", "min"), ("loss", "min", "epoch")],
)
def test_a_positional_call_in_rays_order_says_what_to_write(args):
    with pytest.raises(TypeError, match=r"Ray's first positional is time_attr; write ASHAScheduler\(time_attr="):
        ASHAScheduler(*args)
    with pytest.raises(TypeError, match="HyperbandScheduler"):
        HyperbandScheduler(*args)


def test_metric_and_mode_stay_positional():
    s = ASHAScheduler("loss", "min", max_t=9)
    assert (s.metric, s.mode) == ("loss", "min")
    assert ASHAScheduler("val_accuracy").metric == "val_accuracy"


def test_stop_last_trials_false_is_refused_with_the_way_out():
    with pytest.raises(ValueError, match="stop_last_trials must be True.*raise max_resource"):
        ASHAScheduler(stop_last_trials=False)
    with pytest.raises(ValueError, match="stop_last_trials"):
        make_bohb(stop_last_trials=False)


def test_make_bohb_takes_rays_names_for_both_halves():
    pair = make_bohb(SPACE, time_attr="epoch", max_t=27, grace_period=3, reduction_factor=3, random_state_seed=7)
    assert pair.searcher.resource_attr == pair.scheduler.resource_attr == "epoch"
    assert pair.scheduler.resource_levels == [3, 9, 27]
    assert pair.searcher.seed == 7
    with pytest.raises(TypeError, match="not both"):
        make_bohb(time_attr="epoch", resource_attr="epoch")


def test_bohb_tune_config_carries_metric_and_mode():
    pair = make_bohb(SPACE, metric="loss", mode="min", max_t=9)
    config = pair.tune_config(num_samples=5)
    assert (config.metric, config.mode, config.num_samples) == ("loss", "min", 5)
    assert config.search_alg is pair.searcher and config.scheduler is pair.scheduler
    with pytest.raises(ValueError, match="metric 'acc' differs"):
        pair.tune_config(metric="acc")
    # Without metric/mode on the pair, the TuneConfig's reach both halves through Ray.
    assert make_bohb(SPACE).tune_config(metric="acc", mode="max").metric == "acc"


@pytest.mark.parametrize("cls", [TPESearcher, GPSearcher, RandomSearcher])
@pytest.mark.parametrize("name", ["random_state_seed", "random_state"])
def test_searchers_take_rays_seed_names(cls, name):
    a, b = cls(SPACE, metric="y", mode="min", **{name: 5}), cls(SPACE, metric="y", mode="min", seed=5)
    assert a.seed == 5
    assert [a.suggest(str(i)) for i in range(3)] == [b.suggest(str(i)) for i in range(3)]
    with pytest.raises(TypeError, match="not both"):
        cls(SPACE, seed=1, **{name: 1})


def test_startup_trial_names():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an alias, not a deprecation: no warning
        assert TPESearcher(n_initial_points=4).settings.n_startup_trials == 4
        assert GPSearcher(n_initial_points=3).core.n_startup_trials == 3
        assert GPSearcher(random_search_steps=2).core.n_startup_trials == 2


def test_searcher_options_after_points_to_evaluate_are_keyword_only():
    with pytest.raises(TypeError):
        TPESearcher(SPACE, "y", "min", None, 3)  # would have been the seed


@pytest.mark.parametrize("cls", [TPESearcher, GPSearcher, RandomSearcher])
def test_evaluated_rewards_warm_start_without_rerunning(cls):
    points = [{"x": 0.2, "n": 2}, {"x": 0.9, "n": 4}]
    s = cls(SPACE, metric="acc", mode="max", points_to_evaluate=points, evaluated_rewards=[0.75, math.nan])
    done = list(s.record)
    assert [o.flat for o in done] == [{"x": 0.2, "n": 2}, {"x": 0.9, "n": 4}]
    assert (done[0].state, done[0].loss) == (COMPLETE, -0.75)  # max mode: loss is -reward
    assert done[1].state == FAILED
    config = s.suggest("t1")
    assert config not in points  # nothing is queued to run again
    assert s.record.get("t1").state == PENDING and len(s.record) == 3


def test_evaluated_rewards_wait_for_the_tuners_space_and_mode(tmp_path):
    from ray import tune

    s = TPESearcher(points_to_evaluate=[{"x": 0.5}], evaluated_rewards=[1.0])
    assert len(s.record) == 0
    path = str(tmp_path / "state.pkl")
    s.save(path)
    restored = TPESearcher()
    restored.restore(path)
    assert restored.set_search_properties("loss", "min", {"x": tune.uniform(0, 1)})
    assert [(o.flat, o.loss) for o in restored.record] == [({"x": 0.5}, 1.0)]


def test_evaluated_rewards_must_match_the_points():
    with pytest.raises(ValueError, match="one value per points_to_evaluate entry \\(1\\), got 2"):
        TPESearcher(SPACE, points_to_evaluate=[{"x": 0.5, "n": 1}], evaluated_rewards=[1.0, 2.0])
    with pytest.raises(ValueError, match="points_to_evaluate\\[0\\]"):
        TPESearcher(SPACE, mode="min", points_to_evaluate=[{"x": 5.0, "n": 1}], evaluated_rewards=[1.0])
