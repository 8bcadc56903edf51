"""Test trial for multi-phase semantics: asks, reports, and records what it saw.

``--phases N`` rounds (default: until get_next_parameter() returns None); each round calls
get_next_parameter() ``--gets`` times, then reports once. The final metric is the
configuration's ``x`` (so the test can tell which configuration a result was attached to),
with the round number. Every answer is appended to ``$ASYNCNNI_TRIAL_DIR/calls.jsonl``.
"""

import argparse
import itertools
import json
import os
from pathlib import Path

import asyncnni

parser = argparse.ArgumentParser()
parser.add_argument("--phases", type=int, default=None)
parser.add_argument("--gets", type=int, default=1)
args = parser.parse_args()

log_path = Path(os.environ["ASYNCNNI_TRIAL_DIR"]) / "calls.jsonl"
job = asyncnni.get_trial_id()
rounds = range(args.phases) if args.phases is not None else itertools.count()

with log_path.open("a") as log:
    for phase in rounds:
        for _ in range(args.gets):
            params = asyncnni.get_next_parameter()
            log.write(json.dumps({"job": job, "phase": phase, "params": params}) + "\n")
            log.flush()
        if params is None:
            break
        asyncnni.report_final_result({"default": params["x"], "phase": phase})
