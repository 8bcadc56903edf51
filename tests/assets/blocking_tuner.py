"""An NNI-style (plain ``def``) tuner whose second generate_parameters blocks its thread for
good on an event nobody sets, after touching ``blocked`` so a test knows it is stuck there."""

import threading
from pathlib import Path


class BlockingTuner:
    def __init__(self, blocked: str) -> None:
        self.blocked = Path(blocked)
        self.never = threading.Event()

    def update_search_space(self, search_space):
        pass

    def generate_parameters(self, parameter_id, **kwargs):
        if parameter_id > 0:
            self.blocked.touch()
            self.never.wait()
        return {"x": 0.5}

    def receive_trial_result(self, parameter_id, parameters, value, **kwargs):
        pass
