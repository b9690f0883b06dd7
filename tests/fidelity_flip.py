"""A custom trainable whose ranking each stage can keep or reverse (knob ``sign``): the
stage-correlation tests know the answer in advance. ``sleep`` seconds per epoch give the
stages different, measurable costs."""

import time

from pipeline import trial_context


def train(config):
    ctx = trial_context()
    sign = float(ctx.knob("sign", 1.0))
    pause = float(ctx.knob("sleep", 0.0))
    fold = ctx.fold  # read, so cross-validation may run (the score does not depend on it)
    noise = 0.0 if fold is None else 1e-3 * fold.index
    for _ in range(ctx.max_epochs):
        time.sleep(pause)
        ctx.report({"score": sign * config["x"] + noise})
