"""Tuner quality and speed: best regret on known functions, milliseconds per suggestion.

For each tuner and function, over ``--seeds`` seeds (40 by default): the median, the
quartiles and the mean of log10 of the best regret (best value found minus the known
optimum) after 50, 100 and 200 finished trials. ``--pending K`` drives every tuner the way a
dispatcher with ``trial_concurrency: K`` does: K suggestions are asked, then, in a seeded
random order of completion, one finishes (its result is told) and one more is asked, so K
stay outstanding. ``--pending 1`` (the default) is sequential ask/tell.

Peers run on the same functions, seeds and completion orders in this process when installed
(the ``bench`` extra): Optuna's TPESampler (independent, as Optuna 4 defaulted, and
multivariate with the constant liar), Hyperopt's TPE and anneal, and SMAC's black-box
facade (a Gaussian process) and its hyperparameter-optimisation facade (a random forest).
Also the milliseconds one suggestion takes with 100 and 1000 observations (on Hartmann6) and the seconds (wall clock and CPU) of 1000 sequential
ask/tell rounds on Hartmann6 for the TPEs.

Prints one JSON line, then a readable table. ``--seeds 1 --trials 10`` makes a tiny run;
``--jobs N`` runs the seeds in N worker processes (the figures are the same).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any, Protocol

import anyio
import numpy as np

from asyncnni import tuners
from asyncnni.bench.functions import HARTMANN6_A, HARTMANN6_P  # the one copy of its constants
from asyncnni.bench.report import machine, today
from asyncnni.errors import SearchSpaceError
from asyncnni.search_space import SearchSpace

# ----------------------------------------------------------------------------- functions
_H3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
_H3_P = 1e-4 * np.array(
    [[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]]
)
_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def _vector(p: dict, d: int) -> np.ndarray:
    return np.array([p[f"x{i}"] for i in range(d)])


def branin(p: dict) -> float:
    x1, x2 = p["x1"], p["x2"]
    return (
        (x2 - 5.1 / (4 * math.pi**2) * x1**2 + 5 / math.pi * x1 - 6) ** 2
        + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1)
        + 10
    )


def hartmann6(p: dict) -> float:
    x = _vector(p, 6)
    return -float(_H_ALPHA @ np.exp(-(HARTMANN6_A * (x - HARTMANN6_P) ** 2).sum(axis=1)))


def hartmann3(p: dict) -> float:
    x = _vector(p, 3)
    return -float(_H_ALPHA @ np.exp(-(_H3_A * (x - _H3_P) ** 2).sum(axis=1)))


def rosenbrock4(p: dict) -> float:
    x = _vector(p, 4)
    return float((100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum())


def ackley5(p: dict) -> float:
    x = _vector(p, 5)
    return float(
        -20 * math.exp(-0.2 * math.sqrt((x * x).mean()))
        - math.exp(np.cos(2 * math.pi * x).mean())
        + 20
        + math.e
    )


def mixed(p: dict) -> float:
    """Optimum 0: kind a with x = 1.2, c = 3, y = 0.3, lr = 10^-2.5, k = 7."""
    loss = (p["c"] != 3) + 4 * (p["y"] - 0.3) ** 2 + 0.5 * (math.log10(p["lr"]) + 2.5) ** 2
    loss += 0.1 * abs(p["k"] - 7)
    kind = p["kind"]
    if kind["_name"] == "a":
        return loss + 0.2 * (kind["x"] - 1.2) ** 2
    return loss + 0.3 + 0.2 * (math.log10(kind["lr"]) + 3) ** 2 + 0.05 * abs(kind["n"] - 4)


def _box(d: int, low: float, high: float) -> dict:
    return {f"x{i}": {"_type": "uniform", "_value": [low, high]} for i in range(d)}


FUNCTIONS: dict[str, tuple[dict, Callable[[dict], float], float]] = {
    "branin": (
        {
            "x1": {"_type": "uniform", "_value": [-5, 10]},
            "x2": {"_type": "uniform", "_value": [0, 15]},
        },
        branin,
        0.397887357729739,
    ),
    "hartmann3": (_box(3, 0, 1), hartmann3, -3.86278214782076),
    "hartmann6": (_box(6, 0, 1), hartmann6, -3.32236801141551),
    "rosenbrock4": (_box(4, -5, 10), rosenbrock4, 0.0),
    "ackley5": (_box(5, -32.768, 32.768), ackley5, 0.0),
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


# ----------------------------------------------------------------------------- sessions
class Session(Protocol):
    """One tuner run: ``ask`` hands out a suggestion, ``tell`` returns its result."""

    async def ask(self) -> tuple[Any, dict]:
        """A handle (what ``tell`` needs to recognise it) and the parameters."""
        ...

    async def tell(self, handle: Any, params: dict, value: float) -> None: ...


# A session factory: (space, seed, trials) -> Session
Factory = Callable[[dict, int, int], Session]


async def drive(
    session: Session,
    f: Callable[[dict], float],
    trials: int,
    pending: int,
    order: np.random.Generator,
) -> list[float]:
    """The values of ``trials`` trials in the order they finish, ``pending`` outstanding."""
    outstanding: list[tuple[Any, dict]] = []
    values: list[float] = []
    asked = 0
    while len(values) < trials:
        while asked < trials and len(outstanding) < pending:
            outstanding.append(await session.ask())
            asked += 1
        handle, params = outstanding.pop(int(order.integers(len(outstanding))))
        values.append(f(params))
        await session.tell(handle, params, values[-1])
    return values


class OurSession:
    def __init__(self, name: str, space: dict, seed: int) -> None:
        self.tuner = tuners.create(name, optimize_mode="minimize", seed=seed)
        self.space, self.pid = space, 0

    async def ask(self) -> tuple[Any, dict]:
        if self.pid == 0:
            await self.tuner.update_search_space(self.space)
        pid, self.pid = self.pid, self.pid + 1
        return pid, await self.tuner.generate_parameters(
            pid, trial_job_id="bench", parameter_index=0
        )

    async def tell(self, handle: Any, params: dict, value: float) -> None:
        await self.tuner.receive_trial_result(
            handle, params, value, trial_job_id="bench", parameter_index=0
        )


def ours(name: str) -> Factory:
    return lambda space, seed, trials: OurSession(name, space, seed)


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


class OptunaSession:
    def __init__(self, space: dict, seed: int, **sampler_args: Any) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.space = space
        sampler = optuna.samplers.TPESampler(seed=seed, **sampler_args)
        self.study = optuna.create_study(sampler=sampler)

    async def ask(self) -> tuple[Any, dict]:
        trial = self.study.ask()
        return trial, _optuna_params(trial, self.space)

    async def tell(self, handle: Any, params: dict, value: float) -> None:
        self.study.tell(handle, value)


def optuna_tpe(**sampler_args: Any) -> Factory | None:
    try:
        import optuna  # noqa: F401
    except ImportError:
        return None
    return lambda space, seed, trials: OptunaSession(space, seed, **sampler_args)


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


class HyperoptSession:
    """Hyperopt's ``suggest`` driven by hand, as its parallel back ends drive it: a trial
    handed out stays "new" until its result arrives, and the algorithm learns only from the
    finished ones (hyperopt has no liar)."""

    def __init__(self, space: dict, seed: int, algo: Callable[..., Any]) -> None:
        import hyperopt

        self.hyperopt, self.algo, self.space = hyperopt, algo, space
        self.hspace = _hyperopt_space(space)
        self.domain = hyperopt.base.Domain(lambda p: 0.0, self.hspace)
        self.trials = hyperopt.Trials()
        self.rng = np.random.default_rng(seed)  # fmin draws each call's seed the same way

    async def ask(self) -> tuple[Any, dict]:
        tids = self.trials.new_trial_ids(1)
        self.trials.refresh()
        docs = self.algo(tids, self.domain, self.trials, int(self.rng.integers(2**31 - 1)))
        self.trials.insert_trial_docs(docs)
        self.trials.refresh()
        doc = self.trials._dynamic_trials[-1]
        vals = {k: v[0] for k, v in doc["misc"]["vals"].items() if v}
        params = self.hyperopt.space_eval(self.hspace, vals)
        return doc, _fix_ints(self.space, params)

    async def tell(self, handle: Any, params: dict, value: float) -> None:
        handle["state"] = self.hyperopt.JOB_STATE_DONE
        handle["result"] = {"loss": value, "status": self.hyperopt.STATUS_OK}
        self.trials.refresh()


def hyperopt_algo(name: str) -> Factory | None:
    try:
        import hyperopt
    except ImportError:
        return None
    algo = {"tpe": hyperopt.tpe.suggest, "anneal": hyperopt.anneal.suggest}[name]
    return lambda space, seed, trials: HyperoptSession(space, seed, algo)


def _config_space(space: dict, seed: int) -> Any:
    """The space in ConfigSpace's terms; a nested choice's parameters are conditional."""
    from ConfigSpace import (
        Categorical,
        ConfigurationSpace,
        EqualsCondition,
        Float,
        Integer,
    )

    cs = ConfigurationSpace(seed=seed)

    def add(sub: dict, prefix: str) -> list[Any]:
        made = []
        for key, spec in sub.items():
            name, t, v = prefix + key, spec["_type"], spec["_value"]
            if t == "choice" and any(isinstance(o, dict) for o in v):
                parent = Categorical(name, [o["_name"] for o in v])
                cs.add(parent)
                for o in v:
                    nested = {k: s for k, s in o.items() if k != "_name"}
                    for child in add(nested, f"{name}/{o['_name']}/"):
                        cs.add(EqualsCondition(child, parent, o["_name"]))
                made.append(parent)
                continue
            if t == "choice":
                hp = Categorical(name, list(range(len(v))))
            elif t in ("uniform", "loguniform"):
                hp = Float(name, (v[0], v[1]), log=t == "loguniform")
            elif t == "randint":
                hp = Integer(name, (v[0], v[1] - 1))
            else:
                raise ValueError(f"benchmark converter: {t} not used here")
            cs.add(hp)
            made.append(hp)
        return made

    add(space, "")
    return cs


def _from_config(space: dict, config: dict, prefix: str = "") -> dict:
    out: dict[str, Any] = {}
    for key, spec in space.items():
        name, t, v = prefix + key, spec["_type"], spec["_value"]
        if t == "choice" and any(isinstance(o, dict) for o in v):
            picked = next(o for o in v if o["_name"] == config[name])
            nested = {k: s for k, s in picked.items() if k != "_name"}
            out[key] = {
                "_name": picked["_name"],
                **_from_config(nested, config, f"{name}/{picked['_name']}/"),
            }
        elif t == "choice":
            out[key] = v[int(config[name])]
        elif t == "randint":
            out[key] = int(config[name])
        else:
            out[key] = float(config[name])
    return out


class SmacSession:
    """A SMAC facade by ask/tell: the black-box one (a Gaussian process with expected
    improvement) or the hyperparameter-optimisation one (a random forest, much cheaper)."""

    def __init__(self, space: dict, seed: int, trials: int, facade: str = "BlackBoxFacade") -> None:
        import smac
        from smac import Scenario

        self.space = space
        self._dir = tempfile.TemporaryDirectory(prefix="smac-bench-")
        scenario = Scenario(
            _config_space(space, seed),
            deterministic=True,
            n_trials=trials,
            seed=seed,
            output_directory=self._dir.name,
        )
        self.smac = getattr(smac, facade)(
            scenario,
            target_function=lambda config, seed=0: 0.0,
            overwrite=True,
            logging_level=logging.ERROR,
        )

    async def ask(self) -> tuple[Any, dict]:
        info = self.smac.ask()
        return info, _from_config(self.space, dict(info.config))

    async def tell(self, handle: Any, params: dict, value: float) -> None:
        from smac.runhistory.dataclasses import TrialValue

        self.smac.tell(handle, TrialValue(cost=value), save=False)


def smac_facade(facade: str) -> Factory | None:
    try:
        import smac  # noqa: F401
    except ImportError:
        return None
    return lambda space, seed, trials: SmacSession(space, seed, trials, facade)


PEERS: dict[str, Callable[[], Factory | None]] = {
    "optuna-TPE": lambda: optuna_tpe(multivariate=False, constant_liar=False),
    "optuna-TPE-mv-cl": lambda: optuna_tpe(multivariate=True, constant_liar=True),
    "hyperopt-TPE": lambda: hyperopt_algo("tpe"),
    "hyperopt-anneal": lambda: hyperopt_algo("anneal"),
    "SMAC-BB": lambda: smac_facade("BlackBoxFacade"),
    "SMAC-HPO": lambda: smac_facade("HyperparameterOptimizationFacade"),
}
DEFAULT_PEERS = [name for name in PEERS if not name.startswith("SMAC")]


def factory_of(name: str) -> Factory:
    """Our tuner or a peer by its benchmark name."""
    factory = PEERS[name]() if name in PEERS else ours(name)
    if factory is None:
        raise ValueError(f"peer {name} is not installed")
    return factory


def run_named(name: str, fname: str, seed: int, trials: int, pending: int) -> list[float]:
    """:func:`run_once` by names, so that a worker process can be handed the task."""
    return run_once(factory_of(name), fname, seed, trials, pending)


def run_once(factory: Factory, fname: str, seed: int, trials: int, pending: int) -> list[float]:
    space, f, _ = FUNCTIONS[fname]
    order = np.random.default_rng([seed, 7])  # the same completion order for every tuner

    async def main() -> list[float]:
        return await drive(factory(space, seed, trials), f, trials, pending, order)

    return anyio.run(main)


# ----------------------------------------------------------------------------- timing
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


def _ms_optuna(n_obs: int, asks: int) -> float:
    import optuna

    space, f, _ = FUNCTIONS["hartmann6"]
    sampler = optuna.samplers.TPESampler(seed=0, multivariate=False, constant_liar=False)
    study = optuna.create_study(sampler=sampler)
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


_MS = {"optuna-TPE": _ms_optuna, "hyperopt-TPE": _ms_hyperopt}


def rounds_seconds(factory: Factory, rounds: int) -> tuple[float, float]:
    """Wall-clock and CPU seconds of ``rounds`` sequential ask/tell rounds on Hartmann6.

    CPU time is what the tuner itself costs even when other work shares the machine.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    run_once(factory, "hartmann6", 0, rounds, 1)
    return time.perf_counter() - wall, time.process_time() - cpu


# ----------------------------------------------------------------------------- main
def summary(regrets: list[float]) -> dict[str, float]:
    """Median, quartiles and mean log10 of best regrets (floored at 1e-12 for the log)."""
    r = np.asarray(regrets)
    q25, q50, q75 = np.percentile(r, [25, 50, 75])
    mean_log = float(np.mean(np.log10(np.maximum(r, 1e-12))))
    return {"median": float(q50), "q25": float(q25), "q75": float(q75), "mean_log10": mean_log}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument(
        "--trials", type=int, default=200, help="trials per run (checkpoints 50/100/200 up to it)"
    )
    parser.add_argument(
        "--pending", type=int, default=1, help="suggestions outstanding (1: sequential)"
    )
    parser.add_argument(
        "--tuners",
        # SMAC's facades take seconds per suggestion here: 40 seeds of them take days on 2
        # cores, so they run when named, with fewer seeds (docs/tuners.md, GP against SMAC)
        default=",".join(["Random", "TPE", "Anneal", "Evolution", "GP", *DEFAULT_PEERS]),
        help="ours by name, peers: " + ", ".join(PEERS) + " (SMAC's only when named)",
    )
    parser.add_argument("--functions", default=",".join(FUNCTIONS))
    parser.add_argument(
        "--jobs", type=int, default=1, help="processes running seeds side by side (1: in this one)"
    )
    parser.add_argument(
        "--timing-obs", default="100,1000", help="observation counts for ms/suggestion ('' to skip)"
    )
    parser.add_argument("--timing-asks", type=int, default=10)
    parser.add_argument(
        "--rounds", type=int, default=1000, help="ask/tell rounds timed on Hartmann6 (0 to skip)"
    )
    args = parser.parse_args(argv)
    if args.pending < 1:
        parser.error("--pending must be at least 1")

    names = [n for n in args.tuners.split(",") if n not in PEERS or PEERS[n]() is not None]
    checkpoints = [c for c in (50, 100, 200) if c <= args.trials] or [args.trials]
    obs_counts = [int(n) for n in args.timing_obs.split(",") if n]
    functions = args.functions.split(",")
    pool = multiprocessing.get_context("spawn").Pool(args.jobs) if args.jobs > 1 else None
    run = pool.starmap if pool else lambda f, xs: [f(*x) for x in xs]

    results: dict[str, dict] = {}
    for name in names:  # an uninstalled peer is left out
        entry: dict[str, Any] = {}
        started = time.perf_counter()
        for fname in functions:
            optimum = FUNCTIONS[fname][2]
            tasks = [
                (name, fname, seed, max(checkpoints), args.pending) for seed in range(args.seeds)
            ]
            try:
                runs = run(run_named, tasks)
            except (SearchSpaceError, ValueError) as err:  # e.g. GP and nested choices
                entry[fname] = {"unsupported": str(err)}
                continue
            best = [np.minimum.accumulate(values) for values in runs]
            entry[fname] = {
                f"regret@{c}": summary([max(float(b[c - 1] - optimum), 0.0) for b in best])
                for c in checkpoints
            }
        entry["quality_s"] = round(time.perf_counter() - started, 1)
        for n_obs in obs_counts:
            if name in _MS:
                entry[f"ms_per_suggestion@{n_obs}"] = round(_MS[name](n_obs, args.timing_asks), 3)
            elif name not in PEERS:
                entry[f"ms_per_suggestion@{n_obs}"] = round(
                    _ms_ours(name, n_obs, args.timing_asks), 3
                )
        if args.rounds and name in ("TPE", "optuna-TPE", "hyperopt-TPE"):
            wall, cpu = rounds_seconds(factory_of(name), args.rounds)
            entry[f"hartmann6_{args.rounds}_rounds_s"] = round(wall, 3)
            entry[f"hartmann6_{args.rounds}_rounds_cpu_s"] = round(cpu, 3)
        results[name] = entry
    if pool:
        pool.close()

    report = {
        "benchmark": "tuner_quality",
        "date": today(),
        "machine": machine(),
        "seeds": args.seeds,
        "trials": args.trials,
        "pending": args.pending,
        "results": results,
    }
    print(json.dumps(report), flush=True)
    _table(results, functions, checkpoints, args.pending)
    return report


def _table(results: dict, functions: list[str], checkpoints: list[int], pending: int) -> None:
    """Median best regret [quartiles] per function and checkpoint, then the timings."""
    print(f"\npending {pending}: median best regret [q25, q75] over the seeds", file=sys.stderr)
    for c in checkpoints:
        header = f"| tuner @{c} | " + " | ".join(functions) + " |"
        print("\n" + header + "\n|" + "---|" * (len(functions) + 1), file=sys.stderr)
        for name, entry in results.items():
            cells = []
            for fn in functions:
                s = entry.get(fn, {}).get(f"regret@{c}")
                cells.append(
                    "—" if s is None else f"{s['median']:.3g} [{s['q25']:.2g}, {s['q75']:.2g}]"
                )
            print(f"| {name} | " + " | ".join(cells) + " |", file=sys.stderr)
    print(file=sys.stderr)
    for name, entry in results.items():
        timings = {k: v for k, v in entry.items() if not isinstance(v, dict)}
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in timings.items()), file=sys.stderr)


if __name__ == "__main__":
    main()
