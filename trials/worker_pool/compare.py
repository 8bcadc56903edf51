"""Run the worker pool both ways and print configurations per second.

1. ``exp.yaml`` as it is: ``trial_concurrency`` long-running workers (multi-phase) that
   evaluate ``--pool`` configurations between them;
2. the same trial code with one process per configuration (``--once``, no multi-phase),
   ``--single`` configurations at the same concurrency.

Each run prints one JSON line; the last line gives the speed-up. Experiments are written
under ``--workdir`` (default: a temporary folder, removed afterwards).

    python trials/worker_pool/compare.py --pool 2000 --single 40
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

from asyncnni import Experiment
from asyncnni.config import ExperimentConfig, load_config

HERE = Path(__file__).resolve().parent


def configs_per_second(config: ExperimentConfig, label: str) -> float:
    """Run ``config`` to its end; print and return the configurations it evaluated per second."""
    started = time.perf_counter()
    result = Experiment(config).run()
    seconds = time.perf_counter() - started
    if result.status != "DONE":
        raise SystemExit(f"{label}: experiment ended {result.status}: {result.message}")
    configs = (
        config.max_configuration_number if config.multi_phase else config.max_trial_number
    ) or 0
    rate = configs / seconds
    print(
        json.dumps(
            {
                "mode": label,
                "configs": configs,
                "seconds": round(seconds, 2),
                "configs_per_s": round(rate, 1),
            }
        ),
        flush=True,
    )
    return rate


def compare(pool: int, single: int, workdir: Path) -> float:
    """The speed-up of the worker pool over one process per configuration."""
    base = dataclasses.replace(load_config(HERE / "exp.yaml"), experiment_working_directory=workdir)
    pooled = configs_per_second(
        dataclasses.replace(base, max_configuration_number=pool), "worker_pool"
    )
    one_each = configs_per_second(
        dataclasses.replace(
            base,
            multi_phase=False,
            trial_command=f"{base.trial_command} --once",
            max_configuration_number=None,
            max_trial_number=single,
        ),
        "process_per_config",
    )
    speedup = pooled / one_each
    print(json.dumps({"speedup": round(speedup, 1)}), flush=True)
    return speedup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pool", type=int, default=2000, help="configurations for the worker pool")
    parser.add_argument("--single", type=int, default=40, help="configurations, one process each")
    parser.add_argument("--workdir", type=Path, default=None, help="experiment folder (kept)")
    args = parser.parse_args()
    if args.workdir is not None:
        compare(args.pool, args.single, args.workdir)
        return
    with tempfile.TemporaryDirectory() as workdir:
        compare(args.pool, args.single, Path(workdir))


if __name__ == "__main__":
    main()
