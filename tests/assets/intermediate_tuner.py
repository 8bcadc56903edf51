"""A plain-def tuner (NNI's style) that also takes intermediate results; it records every
call it gets to a JSON-lines file."""

import json


class IntermediateTuner:
    def __init__(self, record: str) -> None:
        self.record = record

    def _log(self, **fields: object) -> None:
        with open(self.record, "a") as f:
            f.write(json.dumps(fields) + "\n")

    def update_search_space(self, search_space):
        pass

    def generate_parameters(self, parameter_id, **kwargs):
        return {"x": float(parameter_id + 1)}

    def receive_intermediate_result(self, parameter_id, parameters, value, sequence, **kwargs):
        self._log(call="intermediate", parameter_id=parameter_id, sequence=sequence, value=value)

    def receive_trial_result(self, parameter_id, parameters, value, **kwargs):
        self._log(call="result", parameter_id=parameter_id, value=value)

    def trial_end(self, parameter_id, success, **kwargs):
        self._log(call="end", parameter_id=parameter_id, success=success)
