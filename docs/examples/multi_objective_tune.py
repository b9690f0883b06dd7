"""Multi-objective tuning in a plain Ray Tune script: accuracy against model size.

MO-TPE suggests, MO-ASHA stops the trials that fall out of the first 1/eta of each rung's
Pareto order, and a constraint keeps models under 50,000 parameters. The trainable is a
small MLP on scikit-learn's digits, one epoch per report.

    python docs/examples/multi_objective_tune.py
"""

from ray import tune

from schedulers import MOASHAScheduler
from searchers import TPESearcher
from searchers.common.pareto import pareto_front_mask, to_minimised


def train(config):
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    x, y = load_digits(return_X_y=True)
    sizes = [64, *[config["width"]] * config["depth"], 10]
    params = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))  # weights and biases
    model = MLPClassifier(sizes[1:-1], learning_rate_init=config["lr"], random_state=0)
    for epoch in range(1, 10):
        model.partial_fit(x[:1200] / 16, y[:1200], classes=np.arange(10))
        tune.report({"val_accuracy": model.score(x[1200:] / 16, y[1200:]), "params": params, "epoch": epoch})


objectives = {"metric": ["val_accuracy", "params"], "mode": ["max", "min"]}
tuner = tune.Tuner(
    train,
    param_space={
        "width": tune.qlograndint(8, 256, 8),
        "depth": tune.randint(1, 4),
        "lr": tune.loguniform(1e-3, 3e-2),
    },
    tune_config=tune.TuneConfig(
        num_samples=30,
        search_alg=TPESearcher(**objectives, constraints=["params <= 50000"], seed=0),
        scheduler=MOASHAScheduler(**objectives, constraints=["params <= 50000"], resource_attr="epoch", max_resource=9),
        max_concurrent_trials=2,
    ),
    run_config=tune.RunConfig(verbose=0),
)
results = [r.metrics for r in tuner.fit() if r.metrics["params"] <= 50000]  # the feasible ones
front = pareto_front_mask(to_minimised(results, [("val_accuracy", "max"), ("params", "min")]))
for r in sorted((r for r, f in zip(results, front) if f), key=lambda r: r["params"]):
    print(f"params {r['params']:>6}  accuracy {r['val_accuracy']:.3f}  epochs {r['epoch']}")
print(f"{len(results)} feasible trials, {sum(r['epoch'] for r in results)} epochs of {9 * len(results)}")
