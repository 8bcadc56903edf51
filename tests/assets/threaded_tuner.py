"""A tuner written the NNI way: plain ``def`` methods, a threading.Lock, and a
threading.Event per parameter that generate_parameters waits on and receive_trial_result
sets. It does not import asyncnni at all.

The first ``population`` configurations are free; configuration ``i`` after them waits
for the result of ``i - population`` and carries it, as a child carries its parent's.
"""

import json
import threading


class ThreadedTuner:
    def __init__(self, record, population=4):
        self.record = record
        self.population = population
        self.lock = threading.Lock()
        self.events = {}
        self.results = {}

    def _event(self, parameter_id):
        with self.lock:
            return self.events.setdefault(parameter_id, threading.Event())

    def _log(self, **fields):
        with self.lock, open(self.record, "a") as f:
            f.write(json.dumps(fields) + "\n")

    def update_search_space(self, search_space):
        pass

    def generate_parameters(self, parameter_id, **kwargs):
        parent = parameter_id - self.population if parameter_id >= self.population else None
        parent_value = None
        if parent is not None:
            self._event(parent).wait()
            with self.lock:
                parent_value = self.results[parent]
        self._log(call="generate", parameter_id=parameter_id, parent_value=parent_value)
        return {"x": parameter_id, "parent": parent}

    def receive_trial_result(self, parameter_id, parameters, value, **kwargs):
        with self.lock:
            self.results[parameter_id] = value
        self._log(call="result", parameter_id=parameter_id, value=value)
        self._event(parameter_id).set()
