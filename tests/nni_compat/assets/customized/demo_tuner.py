"""An NNI-style tuner: records the calls NNI makes, the way NNI makes them."""

import json
import os
import random

import nni
from nni.tuner import Tuner
from nni.utils import OptimizeMode, extract_scalar_reward

_log = os.path.join(os.path.dirname(__file__), "tuner_calls.jsonl")


def _record(**entry):
    with open(_log, "a") as f:
        f.write(json.dumps(entry) + "\n")


class DemoTuner(Tuner):
    def __init__(self, optimize_mode="maximize", fail_at=None):
        self.optimize_mode = OptimizeMode(optimize_mode)
        self.fail_at = fail_at
        self.space = None
        self.rng = random.Random(0)

    def update_search_space(self, search_space):
        self.space = search_space

    def generate_parameters(self, parameter_id, **kwargs):
        if parameter_id == self.fail_at:
            raise RuntimeError("the tuner gives up")
        if parameter_id >= 4:
            raise nni.NoMoreTrialError("four are enough")
        return {
            "C": self.rng.uniform(*self.space["C"]["_value"]),
            "kernel": self.rng.choice(self.space["kernel"]["_value"]),
        }

    def receive_trial_result(self, parameter_id, parameters, value, **kwargs):
        _record(
            call="receive_trial_result",
            parameter_id=parameter_id,
            value=value,
            reward=extract_scalar_reward(value),
            kwargs=sorted(kwargs),
        )

    def trial_end(self, parameter_id, success, **kwargs):
        _record(call="trial_end", parameter_id=parameter_id, success=success)

    def _on_exit(self):
        _record(call="tuner._on_exit")

    def _on_error(self):
        _record(call="tuner._on_error")
