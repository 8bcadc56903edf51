"""A tiny serial driver for tuner tests: ask, evaluate, tell, in the dispatcher's order."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from asyncnni.errors import NoMoreTrials
from asyncnni.tuner import Tuner

MIXED_SPACE: dict[str, Any] = {
    "optimizer": {
        "_type": "choice",
        "_value": [
            {
                "_name": "sgd",
                "lr": {"_type": "loguniform", "_value": [1e-4, 1e-1]},
                "momentum": {"_type": "uniform", "_value": [0, 1]},
            },
            {"_name": "adam", "beta": {"_type": "qloguniform", "_value": [1, 100, 5]}},
            {"_name": "none"},
        ],
    },
    "width": {"_type": "choice", "_value": [16, 32, 64]},
    "layers": {"_type": "randint", "_value": [1, 6]},
    "dropout": {"_type": "quniform", "_value": [0, 0.5, 0.1]},
    "noise": {"_type": "normal", "_value": [0, 1]},
    "shift": {"_type": "qnormal", "_value": [5, 2, 0.5]},
    "scale": {"_type": "lognormal", "_value": [0, 0.5]},
    "steps": {"_type": "qlognormal", "_value": [3, 0.5, 10]},
}
FLAT_SPACE = {k: v for k, v in MIXED_SPACE.items() if k != "optimizer"}

BRANIN_SPACE = {
    "x1": {"_type": "uniform", "_value": [-5, 10]},
    "x2": {"_type": "uniform", "_value": [0, 15]},
}
BRANIN_MIN = 0.397887357729739


def branin(p: dict[str, float]) -> float:
    x1, x2 = p["x1"], p["x2"]
    return (
        (x2 - 5.1 / (4 * math.pi**2) * x1**2 + 5 / math.pi * x1 - 6) ** 2
        + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1)
        + 10
    )


def info(pid: int) -> dict[str, Any]:
    # one trial job asking again and again: the multi-phase shape, which tuners must accept
    return {"trial_job_id": "job0", "parameter_index": pid}


async def drive(
    tuner: Tuner,
    n: int,
    objective: Callable[[dict], float] | None = None,
    fail: Callable[[int], bool] = lambda pid: False,
) -> list[dict]:
    """Run up to ``n`` serial trials; ``fail(pid)`` makes a trial end without a result."""
    configs = []
    for pid in range(n):
        try:
            params = await tuner.generate_parameters(pid, **info(pid))
        except NoMoreTrials:
            break
        configs.append(params)
        if fail(pid):
            await tuner.trial_end(pid, False, **info(pid))
            continue
        value = objective(params) if objective else float(pid % 7)
        await tuner.receive_trial_result(pid, params, value, metric=value, **info(pid))
        await tuner.trial_end(pid, True, **info(pid))
    return configs
