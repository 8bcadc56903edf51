"""An NNI tuner that blocks every request but the first until the first result is in (NNI's
multiThread test): only a dispatcher that serves requests concurrently gets past it."""

import threading

from nni.tuner import Tuner


class MultiThreadTuner(Tuner):
    def __init__(self):
        self.parent_done = threading.Event()

    def generate_parameters(self, parameter_id, **kwargs):
        if parameter_id == 0:
            return {"x": 0}
        self.parent_done.wait()
        return {"x": 1}

    def receive_trial_result(self, parameter_id, parameters, value, **kwargs):
        if parameter_id == 0:
            self.parent_done.set()

    def update_search_space(self, search_space):
        pass
