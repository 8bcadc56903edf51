"""Multi-fidelity tuners on the simulator: simple regret against simulated time.

Random, Hyperband, BOHB, ASHA (and ASHA with ``resume: true``) and TPE without early
stopping run on ``platform: simulated`` (real tuner, real dispatcher and store, trial jobs
as coroutines on a virtual clock) with ``--workers`` multi-phase workers, until
``--hours`` of simulated time, for ``--seeds`` seeds, on the multi-fidelity test functions
of asyncnni.bench.functions (MF-Hartmann6 of BOCA, and crossing learning curves). The
simple regret at time t is the true value (at the largest budget) of the configuration with
the best result reported by t, minus the optimum. With syne-tune installed (the ``bench``
extra), Syne Tune's Random, Hyperband (asynchronous), BOHB (asynchronous), ASHA and TPE run
on Syne Tune's simulator in the same run, same functions, seeds, workers and time.

One JSON line per function and method: the median and quartiles of the regret over seeds
at 24 points of simulated time, the final ones, the workers' utilisation (busy simulated
time / workers x budget) and the wall seconds per run. ``--plot FILE`` draws the curves
(matplotlib, the ``plot`` extra), also from the saved JSON lines of earlier runs
(``--plot-from``). ``--throughput N`` instead runs N one-configuration trial jobs of
Random through the simulator and prints their wall time.

    python benchmarks/multi_fidelity.py --seeds 2 --hours 4      # a small run
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _mf_peers  # noqa: E402

from asyncnni.bench.functions import BENCHMARKS, Benchmark  # noqa: E402
from asyncnni.bench.report import emit, machine, today  # noqa: E402
from asyncnni.catalog import export_rows  # noqa: E402
from asyncnni.experiment import Experiment  # noqa: E402

ETA = 3
METHODS = ("Random", "Hyperband", "BOHB", "ASHA", "ASHA-resume", "TPE")
POINTS = 24  # regret reported at budget * k / POINTS


def tuner_of(method: str, bench: Benchmark, seed: int, folder: str) -> dict[str, Any]:
    top, low = bench.max_budget, bench.min_budget
    args: dict[str, Any] = {
        "Random": {},
        "TPE": {},
        "Hyperband": {"R": top, "eta": ETA},
        "BOHB": {"min_budget": low, "max_budget": top, "eta": ETA},
        "ASHA": {"min_budget": low, "max_budget": top, "eta": ETA},
        "ASHA-resume": {
            "min_budget": low,
            "max_budget": top,
            "eta": ETA,
            "resume": True,
            "save_dir_root": folder,
        },
    }[method]
    name = method.split("-")[0]
    return {"name": name, "class_args": {"optimize_mode": "minimize", "seed": seed, **args}}


def ours(bench: Benchmark, method: str, seed: int, workers: int, budget_s: float):
    """One run of ours; ``(results, utilisation, wall seconds)`` with results as
    ``(simulated time, reported loss, configuration)``."""
    with tempfile.TemporaryDirectory(prefix="asyncnni-mf-") as tmp:
        experiment = Experiment(
            {
                "search_space": bench.search_space,
                "trial_command": "simulated",
                "trial_concurrency": workers,
                "multi_phase": True,
                "tuner": tuner_of(method, bench, seed, tmp),
                "training_service": {
                    "platform": "simulated",
                    "function": f"asyncnni.bench.functions:{bench.name.upper()}",
                },
                "experiment_working_directory": tmp,
                "log_level": "warning",
            }
        )
        experiment.on_start = lambda e: e.service.clock.call_at(
            budget_s, lambda: e.stop("simulated time is up")
        )
        start = time.perf_counter()
        result = experiment.run()
        wall = time.perf_counter() - start
        if result.status != "STOPPED":
            raise RuntimeError(f"{method} on {bench.name}: {result.status}: {result.message}")
        clock = experiment.service.clock
        rows = export_rows(experiment.folder.parent, experiment.id)
    results = sorted(
        (
            r["final_metric"]["ended"],
            r["final_metric"]["default"],
            {k: v for k, v in r["parameters"].items() if k in bench.search_space},
        )
        for r in rows
        if r["final_metric"] is not None
    )
    return results, clock.trained / (workers * budget_s), wall


def regret_curve(bench: Benchmark, results: list, times: np.ndarray) -> np.ndarray:
    """Regret of the incumbent (best reported result so far) at each of ``times``."""
    out = np.full(len(times), np.nan)
    best, regret, k = np.inf, np.nan, 0
    for t, loss, config in results:
        while k < len(times) and times[k] < t:
            out[k] = regret
            k += 1
        if loss < best:
            best, regret = loss, bench.final(config) - bench.optimum
    out[k:] = regret
    return out


def summarise(curves: list[np.ndarray]) -> dict[str, list[float]]:
    stack = np.array(curves)
    q25, median, q75 = np.nanpercentile(stack, [25, 50, 75], axis=0)
    return {"median": median.tolist(), "q25": q25.tolist(), "q75": q75.tolist()}


def run_method(
    runner: Callable, bench: Benchmark, method: str, args: argparse.Namespace, seeds: int
) -> dict[str, Any]:
    budget_s = args.hours * 3600
    times = budget_s * np.arange(1, POINTS + 1) / POINTS
    curves, utilisation, walls, counts = [], [], [], []
    for seed in range(seeds):
        start = time.perf_counter()
        out = runner(bench, method, seed, args.workers, budget_s)
        results, util = out[0], out[1]
        walls.append(time.perf_counter() - start)
        curves.append(regret_curve(bench, results, times))
        utilisation.append(util)
        counts.append(len(results))
    summary = summarise(curves)
    return {
        "times_s": times.tolist(),
        "regret": summary,
        "final_median": summary["median"][-1],
        "final_q25": summary["q25"][-1],
        "final_q75": summary["q75"][-1],
        "utilisation": float(np.mean(utilisation)),
        "results_per_run": float(np.mean(counts)),
        "wall_s_per_run": float(np.mean(walls)),
    }


def throughput(trials: int, workers: int) -> None:
    """``trials`` one-configuration trial jobs of Random through the simulator."""
    bench = BENCHMARKS["mf_hartmann6"]
    for multi_phase in (False, True):
        with tempfile.TemporaryDirectory(prefix="asyncnni-mf-") as tmp:
            limit = {"max_configuration_number": trials} if multi_phase else {}
            experiment = Experiment(
                {
                    "search_space": bench.search_space,
                    "trial_command": "simulated",
                    "trial_concurrency": workers,
                    "multi_phase": multi_phase,
                    "max_trial_number": None if multi_phase else trials,
                    **limit,
                    "tuner": {"name": "Random", "class_args": {"seed": 0}},
                    "training_service": {
                        "platform": "simulated",
                        "function": "asyncnni.bench.functions:MF_HARTMANN6",
                    },
                    "experiment_working_directory": tmp,
                    "log_level": "warning",
                }
            )
            start = time.perf_counter()
            result = experiment.run()
            wall = time.perf_counter() - start
            simulated = experiment.service.clock.now
        emit(
            {
                "benchmark": "simulator_throughput",
                "trials": trials,
                "workers": workers,
                "mode": "multi_phase_workers" if multi_phase else "one_job_per_trial",
                "status": result.status,
                "wall_s": round(wall, 2),
                "trials_per_s": round(trials / wall, 1),
                "simulated_hours": round(simulated / 3600, 1),
                "machine": machine(),
                "date": today(),
            }
        )


def plot(lines: list[dict[str, Any]], path: str) -> None:
    """One panel per function and method: ours against the peer's same method, the median
    as a line and the quartiles shaded (ASHA's panel also has ASHA with resume: true)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

    functions = sorted({line["function"] for line in lines})
    drawn = {line["method"].split("-")[0] for line in lines}  # ASHA-resume: ASHA's panel
    methods = [m for m in METHODS if m in drawn]
    fig, axes = plt.subplots(
        len(functions),
        len(methods),
        figsize=(2.2 * len(methods), 2.1 * len(functions)),
        sharex=True,
        sharey="row",
        squeeze=False,
    )
    styles = {"asyncnni": ("C0", "-"), "ASHA-resume": ("C2", ":")}  # the peer's: C1, dashed
    for row, function in zip(axes, functions, strict=True):
        for ax, method in zip(row, methods, strict=True):
            panel = [x for x in lines if x["function"] == function]
            for line in panel:
                if line["method"] not in (method, f"{method}-resume"):
                    continue
                ours = line["implementation"] == "asyncnni"
                key = (
                    line["method"] if line["method"].endswith("resume") else line["implementation"]
                )
                colour, dash = styles.get(key, ("C1", "--"))
                hours = np.array(line["times_s"]) / 3600
                label = ("ours" if ours else line["implementation"]) + (
                    ", resume" if line["method"].endswith("resume") else ""
                )
                ax.plot(hours, line["regret"]["median"], dash, color=colour, label=label)
                ax.fill_between(
                    hours, line["regret"]["q25"], line["regret"]["q75"], color=colour, alpha=0.15
                )
            ax.set_yscale("log")
            ax.set_title(f"{method}", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.legend(fontsize=6)
        row[0].set_ylabel(f"{function}\nsimple regret", fontsize=8)
        low, high = row[0].get_ylim()
        if high / low < 100:  # less than two decades: label 1, 2, 5 of each, as plain numbers
            row[0].yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            row[0].yaxis.set_major_formatter(FormatStrFormatter("%g"))
            row[0].yaxis.set_minor_formatter(NullFormatter())
    for ax in axes[-1]:
        ax.set_xlabel("simulated hours", fontsize=8)
    first = lines[0]
    fig.suptitle(
        f"median and quartiles over {first['seeds']} seeds, {first['workers']} workers, "
        f"{first['date']}",
        fontsize=8,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def _read_lines(paths: list[str]) -> list[dict[str, Any]]:
    lines = []
    for path in paths:
        for text in Path(path).read_text().splitlines():
            line = json.loads(text) if text.startswith("{") else None
            if line and line.get("benchmark") == "multi_fidelity":
                lines.append(line)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--peer-seeds", type=int, default=None, help="default: --seeds")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--hours", type=float, default=20.0, help="simulated time budget")
    parser.add_argument("--functions", default=",".join(BENCHMARKS))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--plot", default=None, help="write the regret curves to this PNG")
    parser.add_argument(
        "--plot-from",
        nargs="+",
        default=None,
        metavar="JSONL",
        help="only draw --plot from the JSON lines of earlier runs (one function each, say)",
    )
    parser.add_argument("--throughput", type=int, default=0, help="only the simulator's speed")
    args = parser.parse_args()
    if args.plot_from:
        if not args.plot:
            parser.error("--plot-from needs --plot FILE")
        plot(_read_lines(args.plot_from), args.plot)
        return
    if args.throughput:
        throughput(args.throughput, args.workers)
        return
    peers = not args.no_peers and _mf_peers.available()
    lines = []
    for function in args.functions.split(","):
        bench = BENCHMARKS[function]
        for method in args.methods.split(","):
            runs = [("asyncnni", ours, args.seeds)]
            if peers and method in _mf_peers.METHODS:
                runs.append(("syne-tune", _mf_peers.run, args.peer_seeds or args.seeds))
            for implementation, runner, seeds in runs:
                figures = run_method(runner, bench, method, args, seeds)
                line = {
                    "benchmark": "multi_fidelity",
                    "function": function,
                    "method": method,
                    "implementation": implementation,
                    "seeds": seeds,
                    "workers": args.workers,
                    "budget_hours": args.hours,
                    **figures,
                    "machine": machine(),
                    "date": today(),
                }
                lines.append(line)
                emit(line)
                print(
                    f"{function:16} {method:12} {implementation:9} regret "
                    f"{line['final_median']:.4g} [{line['final_q25']:.3g}, {line['final_q75']:.3g}]"
                    f"  util {line['utilisation']:.3f}  {line['wall_s_per_run']:.1f} s/run",
                    file=sys.stderr,
                    flush=True,
                )
    if args.plot:
        plot(lines, args.plot)


if __name__ == "__main__":
    main()
