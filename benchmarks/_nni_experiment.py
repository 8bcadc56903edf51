"""Run by NNI's own interpreter for benchmarks/vs_nni.py (it never imports asyncnni): one NNI
3.0 experiment of trivial trials, Random tuner, local training service.

    python _nni_experiment.py TRIALS CONCURRENCY WORKING_DIRECTORY PORT

Prints one JSON line: ``wall_s`` from before ``Experiment.start`` until NNI says DONE (its REST
status, asked every 50 ms, so NNI's own 10 s completion poll is not counted), ``stop_s`` for
``Experiment.stop`` after it, and how many trials succeeded.
"""

import json
import sys
import time
from pathlib import Path

from nni.experiment import Experiment

TRIAL = Path(__file__).resolve().parent / "trials" / "nni_one_result.py"
ENDED = ("DONE", "STOPPED", "ERROR")


def main() -> None:
    trials, concurrency, working_directory, port = sys.argv[1:5]
    experiment = Experiment("local")
    config = experiment.config
    config.search_space = {"x": {"_type": "uniform", "_value": [0, 1]}}
    config.trial_command = f"{sys.executable} {TRIAL.name}"
    config.trial_code_directory = str(TRIAL.parent)
    config.trial_concurrency = int(concurrency)
    config.max_trial_number = int(trials)
    config.tuner.name = "Random"
    config.experiment_working_directory = working_directory
    start = time.perf_counter()
    experiment.start(int(port), debug=False)
    status = experiment.get_status()
    while status not in ENDED:
        time.sleep(0.05)
        status = experiment.get_status()
    wall_s = time.perf_counter() - start
    succeeded = sum(job.status == "SUCCEEDED" for job in experiment.list_trial_jobs())
    experiment.stop()
    stop_s = time.perf_counter() - start - wall_s
    print(
        json.dumps({"status": status, "wall_s": wall_s, "stop_s": stop_s, "succeeded": succeeded})
    )


if __name__ == "__main__":
    main()
