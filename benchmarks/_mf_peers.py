"""The peers of benchmarks/multi_fidelity.py: Syne Tune's methods on Syne Tune's simulator.

The same benchmark function (asyncnni.bench.functions) becomes a Syne Tune blackbox that
reports at the rung budgets (1, 3, 9, 27, 81 for eta 3), with the elapsed simulated time of
each (Random's and TPE's results are their reports at the full budget only, as ours are);
Syne Tune's simulator backend runs its scheduler against it with the same number of workers
and the same simulated time budget. ``available()`` is False when syne-tune is not
installed (the ``bench`` extra).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import math
import sys
import tempfile
from typing import Any

import numpy as np

from asyncnni.bench.functions import Benchmark

METHODS = ("Random", "Hyperband", "BOHB", "ASHA", "TPE")
#: methods that decide on full-budget results only: their trials' reports at the smaller
#: rung budgets (which the blackbox makes for every method) are no results of theirs
FULL_BUDGET = ("Random", "TPE")


def available() -> bool:
    return importlib.util.find_spec("syne_tune") is not None


def _space(space: dict[str, Any]) -> dict[str, Any]:
    import syne_tune.config_space as sp

    out: dict[str, Any] = {}
    for name, spec in space.items():
        kind, value = spec["_type"], spec["_value"]
        if kind == "uniform":
            out[name] = sp.uniform(*value)
        elif kind == "loguniform":
            out[name] = sp.loguniform(*value)
        elif kind == "choice":
            out[name] = sp.choice(list(value))
        elif kind == "randint":  # NNI's upper bound is excluded, Syne Tune's included
            out[name] = sp.randint(value[0], value[1] - 1)
        else:
            raise ValueError(f"{name}: no Syne Tune counterpart for {kind}")
    return out


def _blackbox(bench: Benchmark, budgets: list[int]) -> Any:
    import syne_tune.config_space as sp
    from syne_tune.blackbox_repository.blackbox import Blackbox

    class FunctionBlackbox(Blackbox):
        def __init__(self) -> None:
            super().__init__(
                configuration_space=_space(bench.search_space),
                fidelity_space={"epoch": sp.randint(1, int(bench.max_budget))},
                objectives_names=["loss", "elapsed"],
            )

        @property
        def fidelity_values(self) -> np.ndarray:
            return np.array(budgets)

        def objective_function(
            self, configuration: dict, fidelity: Any = None, seed: int | None = None
        ) -> Any:
            config = {k: v for k, v in configuration.items() if k in bench.search_space}
            unit = bench.cost(config)
            rows = []
            for budget in budgets:
                out = bench.function(config, budget)
                rows.append([out[-1] if isinstance(out, list) else out, unit * budget])
            rows = np.array(rows)
            if fidelity is None:
                return rows
            budget = fidelity["epoch"] if isinstance(fidelity, dict) else fidelity
            return dict(zip(self.objectives_names, rows[budgets.index(int(budget))], strict=True))

    return FunctionBlackbox()


def run(bench: Benchmark, method: str, seed: int, workers: int, budget_s: float, eta: int = 3):
    """One Syne Tune run; returns ``(results, utilisation)`` where results are
    ``(simulated time, reported loss, configuration)`` in time order."""
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository.simulated_tabular_backend import UserBlackboxBackend
    from syne_tune.experiments import load_experiment
    from syne_tune.optimizer import baselines

    logging.getLogger("syne_tune").setLevel(logging.ERROR)
    max_t = int(bench.max_budget)
    s_max = math.floor(math.log(max_t / bench.min_budget, eta) + 1e-6)
    budgets = [round(max_t / eta**k) for k in range(s_max, -1, -1)]
    blackbox = _blackbox(bench, budgets)
    space = blackbox.configuration_space_with_max_resource_attr("epochs")
    common = {"config_space": space, "do_minimize": True, "random_seed": seed}
    multi = {"metric": "loss", "time_attr": "epoch", "max_t": max_t, "reduction_factor": eta}
    scheduler = {
        "Random": lambda: baselines.RandomSearch(metrics=["loss"], **common),
        "TPE": lambda: baselines.TPE(metric="loss", **common),
        "ASHA": lambda: baselines.ASHA(**multi, **common),
        # asynchronous Hyperband: ASHA over all s_max + 1 brackets
        "Hyperband": lambda: baselines.ASHA(brackets=s_max + 1, **multi, **common),
        "BOHB": lambda: baselines.BOHB(**multi, **common),
    }[method]()
    backend = UserBlackboxBackend(
        blackbox=blackbox, elapsed_time_attr="elapsed", max_resource_attr="epochs"
    )
    with tempfile.TemporaryDirectory() as folder:
        import os

        os.environ["SYNETUNE_FOLDER"] = folder
        tuner = Tuner(
            trial_backend=backend,
            scheduler=scheduler,
            stop_criterion=StoppingCriterion(max_wallclock_time=budget_s),
            n_workers=workers,
            sleep_time=0,
            callbacks=[SimulatorCallback()],
            results_update_interval=1e9,
            print_update_interval=1e9,
            save_tuner=False,
            tuner_name=f"mf-{method.lower()}-{seed}",
        )
        with contextlib.redirect_stdout(sys.stderr):  # its tables; stdout is for JSON lines
            tuner.run()
        frame = load_experiment(tuner.name, local_path=folder).results
    names = list(bench.search_space)
    frame = frame.sort_values("st_tuner_time")
    # scored on what the method decides on, as ours are (each parameter set's result at its
    # budget): a full-budget method's trial still running is no result yet, although its
    # blackbox reported at the smaller rung budgets (they would credit it early)
    scored = frame[frame["epoch"] == max_t] if method in FULL_BUDGET else frame
    results = [
        (float(t), float(loss), {n: _plain(row[f"config_{n}"]) for n in names})
        for t, loss, (_, row) in zip(
            scored["st_tuner_time"], scored["loss"], scored.iterrows(), strict=True
        )
    ]
    # busy simulated seconds, a lower bound: from each trial's start (its first report's time
    # less its elapsed time) to its last report (a trial still running at the end is cut there)
    frame["start"] = frame["st_tuner_time"] - frame["elapsed"]
    spans = frame.groupby("trial_id").agg({"start": "min", "st_tuner_time": "max"})
    busy = float((np.minimum(spans["st_tuner_time"], budget_s) - spans["start"]).sum())
    return results, busy / (workers * budget_s)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
