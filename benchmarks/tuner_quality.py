"""Tuner quality and speed: best regret on known functions, milliseconds per suggestion.

For each tuner and function: the median over seeds of the best regret (best value found
minus the known optimum) after 50, 100 and 200 trials, and the milliseconds one suggestion
takes with 100 and 1000 observations (on Hartmann6). Also the seconds (wall clock and CPU)
of 1000 sequential ask/tell rounds on Hartmann6 for the TPEs. When optuna or hyperopt is installed (the
``bench`` extra), their TPE runs on the same functions and seeds in this process.

Prints one JSON line, then a readable table. ``--seeds 1 --trials 10`` makes a tiny run.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

import anyio
import numpy as np

from asyncnni import tuners
from asyncnni.errors import SearchSpaceError
from asyncnni.search_space import SearchSpace

# ----------------------------------------------------------------------------- functions
_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def branin(p: dict) -> float:
    x1, x2 = p["x1"], p["x2"]
    return (
        (x2 - 5.1 / (4 * math.pi**2) * x1**2 + 5 / math.pi * x1 - 6) ** 2
        + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1)
        + 10
    )


def hartmann6(p: dict) -> float:
    x = np.array([p[f"x{i}"] for i in range(6)])
    return -float(_H6_ALPHA @ np.exp(-(_H6_A * (x - _H6_P) ** 2).sum(axis=1)))


def mixed(p: dict) -> float:
    """Optimum 0: kind a with x = 1.2, c = 3, y = 0.3, lr = 10^-2.5, k = 7."""
    loss = (p["c"] != 3) + 4 * (p["y"] - 0.3) ** 2 + 0.5 * (math.log10(p["lr"]) + 2.5) ** 2
    loss += 0.1 * abs(p["k"] - 7)
    kind = p["kind"]
    if kind["_name"] == "a":
        return loss + 0.2 * (kind["x"] - 1.2) ** 2
    return loss + 0.3 + 0.2 * (math.log10(kind["lr"]) + 3) ** 2 + 0.05 * abs(kind["n"] - 4)


FUNCTIONS: dict[str, tuple[dict, Callable[[dict], float], float]] = {
    "branin": (
        {
            "x1": {"_type": "uniform", "_value": [-5, 10]},
            "x2": {"_type": "uniform", "_value": [0, 15]},
        },
        branin,
        0.397887357729739,
    ),
    "hartmann6": (
        {f"x{i}": {"_type": "uniform", "_value": [0, 1]} for i in range(6)},
        hartmann6,
        -3.32236801141551,
    ),
    "mixed": (
        {
            "kind": {
                "_type": "choice",
                "_value": [
                    {"_name": "a", "x": {"_type": "uniform", "_value": [-5, 5]}},
                    {
                        "_name": "b",
                        "lr": {"_type": "loguniform", "_value": [1e-5, 1]},
                        "n": {"_type": "randint", "_value": [1, 9]},
                    },
                ],
            },
            "c": {"_type": "choice", "_value": [1, 2, 3, 4]},
            "y": {"_type": "uniform", "_value": [0, 1]},
            "lr": {"_type": "loguniform", "_value": [1e-4, 1e-1]},
            "k": {"_type": "randint", "_value": [0, 10]},
        },
        mixed,
        0.0,
    ),
}

# ----------------------------------------------------------------------------- runners
# A runner: (space, objective, seed, trials) -> list of values in trial order.
Runner = Callable[[dict, Callable[[dict], float], int, int], list[float]]


def ours(name: str) -> Runner:
    def run(space: dict, f: Callable[[dict], float], seed: int, trials: int) -> list[float]:
        async def main() -> list[float]:
            tuner = tuners.create(name, optimize_mode="minimize", seed=seed)
            await tuner.update_search_space(space)
            values = []
            for pid in range(trials):
                p = await tuner.generate_parameters(pid, trial_job_id="bench", parameter_index=pid)
                values.append(f(p))
                await tuner.receive_trial_result(
                    pid, p, values[-1], trial_job_id="bench", parameter_index=pid, metric=values[-1]
                )
            return values

        return anyio.run(main)

    return run


def _ms_ours(name: str, n_obs: int, asks: int) -> float:
    space, f, _ = FUNCTIONS["hartmann6"]

    async def main() -> float:
        rng = np.random.default_rng(0)
        parsed = SearchSpace(space)
        data = [{"parameter": p, "value": f(p)} for p in (parsed.sample(rng) for _ in range(n_obs))]
        tuner = tuners.create(name, optimize_mode="minimize", seed=0)
        await tuner.update_search_space(space)
        await tuner.import_data(data)
        for pid in range(asks, asks + 1):  # warm-up: first-call costs are not per suggestion
            await tuner.generate_parameters(pid, trial_job_id="bench", parameter_index=pid)
            await tuner.trial_end(pid, False, trial_job_id="bench", parameter_index=pid)
        start = time.perf_counter()
        for pid in range(asks):
            await tuner.generate_parameters(pid, trial_job_id="bench", parameter_index=pid)
            await tuner.trial_end(pid, False, trial_job_id="bench", parameter_index=pid)
        return (time.perf_counter() - start) / asks * 1e3

    return anyio.run(main)


def _optuna_params(trial: Any, space: dict, prefix: str = "") -> dict:
    out: dict[str, Any] = {}
    for key, spec in space.items():
        name, t, v = prefix + key, spec["_type"], spec["_value"]
        if t == "choice" and any(isinstance(o, dict) for o in v):
            picked = v[trial.suggest_categorical(name, list(range(len(v))))]
            nested = {k: s for k, s in picked.items() if k != "_name"}
            out[key] = {
                "_name": picked["_name"],
                **_optuna_params(trial, nested, f"{name}/{picked['_name']}/"),
            }
        elif t == "choice":
            out[key] = v[trial.suggest_categorical(name, list(range(len(v))))]
        elif t in ("uniform", "loguniform"):
            out[key] = trial.suggest_float(name, v[0], v[1], log=t == "loguniform")
        elif t == "randint":
            out[key] = trial.suggest_int(name, v[0], v[1] - 1)
        else:
            raise ValueError(f"benchmark converter: {t} not used here")
    return out


def optuna_tpe() -> Runner | None:
    try:
        import optuna
    except ImportError:
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def run(space: dict, f: Callable[[dict], float], seed: int, trials: int) -> list[float]:
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
        values = []
        for _ in range(trials):
            trial = study.ask()
            values.append(f(_optuna_params(trial, space)))
            study.tell(trial, values[-1])
        return values

    return run


def _ms_optuna(n_obs: int, asks: int) -> float:
    import optuna

    space, f, _ = FUNCTIONS["hartmann6"]
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    rng = np.random.default_rng(0)
    dists = {k: optuna.distributions.FloatDistribution(0, 1) for k in space}
    for _ in range(n_obs):
        p = {k: float(rng.random()) for k in space}
        study.add_trial(optuna.trial.create_trial(params=p, distributions=dists, value=f(p)))
    start = time.perf_counter()
    for _ in range(asks):
        trial = study.ask()
        _optuna_params(trial, space)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return (time.perf_counter() - start) / asks * 1e3


def _hyperopt_space(space: dict, prefix: str = "") -> dict:
    from hyperopt import hp

    out: dict[str, Any] = {}
    for key, spec in space.items():
        name, t, v = prefix + key, spec["_type"], spec["_value"]
        if t == "choice" and any(isinstance(o, dict) for o in v):
            out[key] = hp.choice(
                name,
                [
                    {
                        "_name": o["_name"],
                        **_hyperopt_space(
                            {k: s for k, s in o.items() if k != "_name"}, f"{name}/{o['_name']}/"
                        ),
                    }
                    for o in v
                ],
            )
        elif t == "choice":
            out[key] = hp.choice(name, v)
        elif t == "uniform":
            out[key] = hp.uniform(name, v[0], v[1])
        elif t == "loguniform":
            out[key] = hp.loguniform(name, math.log(v[0]), math.log(v[1]))
        elif t == "randint":
            out[key] = hp.uniformint(name, v[0], v[1] - 1)
        else:
            raise ValueError(f"benchmark converter: {t} not used here")
    return out


def _fix_ints(space: dict, p: dict) -> dict:
    """hyperopt's uniformint gives floats; the objective wants ints as our tuners give."""
    out = dict(p)
    for key, spec in space.items():
        if spec["_type"] == "randint":
            out[key] = int(out[key])
        elif spec["_type"] == "choice" and isinstance(out[key], dict):
            picked = next(o for o in spec["_value"] if o["_name"] == out[key]["_name"])
            out[key] = _fix_ints({k: s for k, s in picked.items() if k != "_name"}, out[key])
    return out


def hyperopt_tpe() -> Runner | None:
    try:
        import hyperopt
    except ImportError:
        return None

    def run(space: dict, f: Callable[[dict], float], seed: int, trials: int) -> list[float]:
        values: list[float] = []

        def objective(p: dict) -> float:
            values.append(f(_fix_ints(space, p)))
            return values[-1]

        hyperopt.fmin(
            objective,
            _hyperopt_space(space),
            algo=hyperopt.tpe.suggest,
            max_evals=trials,
            rstate=np.random.default_rng(seed),
            show_progressbar=False,
        )
        return values

    return run


def _ms_hyperopt(n_obs: int, asks: int) -> float:
    import hyperopt

    space, f, _ = FUNCTIONS["hartmann6"]
    rng = np.random.default_rng(0)
    points = [{k: float(rng.random()) for k in space} for _ in range(n_obs)]
    times: list[float] = []

    def timed_suggest(new_ids: Any, domain: Any, trials: Any, seed: int) -> Any:
        start = time.perf_counter()
        out = hyperopt.tpe.suggest(new_ids, domain, trials, seed)
        if len(trials) >= n_obs:
            times.append(time.perf_counter() - start)
        return out

    hyperopt.fmin(
        f,
        _hyperopt_space(space),
        algo=timed_suggest,
        max_evals=n_obs + asks,
        points_to_evaluate=points,
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )
    return float(np.mean(times)) * 1e3


def rounds_seconds(run: Runner, rounds: int) -> tuple[float, float]:
    """Wall-clock and CPU seconds of ``rounds`` sequential ask/tell rounds on Hartmann6.

    CPU time is what the tuner itself costs even when other work shares the machine.
    """
    space, f, _ = FUNCTIONS["hartmann6"]
    wall, cpu = time.perf_counter(), time.process_time()
    run(space, f, 0, rounds)
    return time.perf_counter() - wall, time.process_time() - cpu


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument(
        "--trials", type=int, default=200, help="trials per run (checkpoints 50/100/200 up to it)"
    )
    parser.add_argument(
        "--tuners", default="Random,TPE,Anneal,Evolution,GP,optuna-TPE,hyperopt-TPE"
    )
    parser.add_argument("--functions", default=",".join(FUNCTIONS))
    parser.add_argument(
        "--timing-obs", default="100,1000", help="observation counts for ms/suggestion ('' to skip)"
    )
    parser.add_argument("--timing-asks", type=int, default=10)
    parser.add_argument(
        "--rounds", type=int, default=1000, help="ask/tell rounds timed on Hartmann6 (0 to skip)"
    )
    args = parser.parse_args(argv)

    runners: dict[str, Runner] = {}
    for name in args.tuners.split(","):
        runner = {"optuna-TPE": optuna_tpe, "hyperopt-TPE": hyperopt_tpe}.get(
            name, lambda n=name: ours(n)
        )()
        if runner is not None:  # an uninstalled reference is left out
            runners[name] = runner
    checkpoints = [c for c in (50, 100, 200) if c <= args.trials] or [args.trials]
    obs_counts = [int(n) for n in args.timing_obs.split(",") if n]

    results: dict[str, dict] = {}
    for name, run in runners.items():
        entry: dict[str, Any] = {}
        for fname in args.functions.split(","):
            space, f, optimum = FUNCTIONS[fname]
            regrets: dict[int, list[float]] = {c: [] for c in checkpoints}
            try:
                for seed in range(args.seeds):
                    best = np.minimum.accumulate(run(space, f, seed, max(checkpoints)))
                    for c in checkpoints:
                        regrets[c].append(float(best[c - 1] - optimum))
            except SearchSpaceError as err:  # e.g. GP and nested choices
                entry[fname] = {"unsupported": str(err)}
                continue
            entry[fname] = {f"regret@{c}": float(np.median(regrets[c])) for c in checkpoints}
        for n_obs in obs_counts:
            if name == "optuna-TPE":
                ms = _ms_optuna(n_obs, args.timing_asks)
            elif name == "hyperopt-TPE":
                ms = _ms_hyperopt(n_obs, args.timing_asks)
            else:
                ms = _ms_ours(name, n_obs, args.timing_asks)
            entry[f"ms_per_suggestion@{n_obs}"] = round(ms, 3)
        if args.rounds and name.endswith("TPE"):
            wall, cpu = rounds_seconds(run, args.rounds)
            entry[f"hartmann6_{args.rounds}_rounds_s"] = round(wall, 3)
            entry[f"hartmann6_{args.rounds}_rounds_cpu_s"] = round(cpu, 3)
        results[name] = entry

    report = {
        "benchmark": "tuner_quality",
        "seeds": args.seeds,
        "trials": args.trials,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
        "results": results,
    }
    print(json.dumps(report))
    _table(results, checkpoints, obs_counts, args.rounds)
    return report


def _table(results: dict, checkpoints: list[int], obs_counts: list[int], rounds: int) -> None:
    functions = [k for k in next(iter(results.values())) if k in FUNCTIONS] if results else []
    cols = [f"{fn} @{c}" for fn in functions for c in checkpoints]
    cols += [f"ms @{n}" for n in obs_counts] + [f"{rounds} rounds s", "(cpu s)"]
    print(f"{'tuner':<14}" + "".join(f"{c:>16}" for c in cols), file=sys.stderr)
    for name, entry in results.items():
        cells = [
            entry[fn].get(f"regret@{c}", float("nan")) for fn in functions for c in checkpoints
        ]
        cells += [entry[f"ms_per_suggestion@{n}"] for n in obs_counts]
        cells.append(entry.get(f"hartmann6_{rounds}_rounds_s", float("nan")))
        cells.append(entry.get(f"hartmann6_{rounds}_rounds_cpu_s", float("nan")))
        print(f"{name:<14}" + "".join(f"{v:>16.4g}" for v in cells), file=sys.stderr)


if __name__ == "__main__":
    main()
