"""Multi-phase trial: one trial job tries five configurations in a row.

Each ``get_next_parameter()`` call asks the tuner for a new configuration (the experiment
sets ``multi_phase: true``), and each ``report_final_result`` belongs to the configuration
of the call just before it. The "model" is a ridge regression fitted by gradient descent on
a fixed, seeded data set: cheap enough that a configuration takes milliseconds.

Run it on its own to debug it: ``python model.py`` (the defaults, five times).
"""

import numpy as np

import asyncnni

PHASES = 5
STEPS = 200

rng = np.random.default_rng(7)
features = rng.normal(size=(400, 10))
true_weights = rng.normal(size=10)
targets = features @ true_weights + 0.3 * rng.normal(size=400)
train_x, test_x = features[:300], features[300:]
train_y, test_y = targets[:300], targets[300:]


def fit(lr: float, l2: float) -> np.ndarray:
    """Ridge regression by plain gradient descent: ``lr`` and ``l2`` are what we tune."""
    weights = np.zeros(train_x.shape[1])
    for _ in range(STEPS):
        gradient = train_x.T @ (train_x @ weights - train_y) / len(train_y) + l2 * weights
        weights -= lr * gradient
    return weights


for _phase in range(PHASES):
    params = {"lr": 0.01, "l2": 0.0}
    suggested = asyncnni.get_next_parameter()
    if suggested is None:  # the tuner or a limit says stop: this job is done
        break
    params.update(suggested)
    weights = fit(params["lr"], params["l2"])
    mse = float(np.mean((test_x @ weights - test_y) ** 2))
    print(f"{params} -> test mse {mse:.4f}", flush=True)
    asyncnni.report_final_result(mse)
