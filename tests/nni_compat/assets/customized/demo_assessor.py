"""An NNI-style assessor that lets every trial run; it records NNI's exit hooks."""

import json
import os

from nni.assessor import Assessor, AssessResult

_log = os.path.join(os.path.dirname(__file__), "tuner_calls.jsonl")


def _record(call):
    with open(_log, "a") as f:
        f.write(json.dumps({"call": call}) + "\n")


class DemoAssessor(Assessor):
    def assess_trial(self, trial_job_id, trial_history):
        return AssessResult.Good

    def _on_exit(self):
        _record("assessor._on_exit")

    def _on_error(self):
        _record("assessor._on_error")
