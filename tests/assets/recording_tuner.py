"""A MultiPhaseTuner for tests: it records every call to a JSON-lines file.

Each configuration is ``{"x": parameter_id, "asked_by": trial_job_id, "index": ...}``, so a
trial can check it was planned for itself and the store can be checked against the ids.
"""

import json

import anyio

from asyncnni import MultiPhaseTuner, NoMoreTrials


class RecordingTuner(MultiPhaseTuner):
    """``record``: the file calls go to; ``limit``: raise NoMoreTrials after that many
    configurations; ``think``: seconds each call yields to the event loop, so calls that
    are allowed to overlap do overlap."""

    def __init__(self, record: str, limit: int | None = None, think: float = 0.0) -> None:
        self.record = record
        self.limit = limit
        self.think = think
        self.generated = 0
        self.busy = 0  # calls in progress right now: serial mode must keep it at 1

    async def _log(self, call: str, **fields: object) -> None:
        self.busy += 1
        try:
            await anyio.sleep(self.think)
            with open(self.record, "a") as f:
                f.write(json.dumps({"call": call, "busy": self.busy, **fields}) + "\n")
        finally:
            self.busy -= 1

    async def generate_parameters(self, parameter_id, trial_job_id=None, **info):
        if self.limit is not None and self.generated >= self.limit:
            raise NoMoreTrials
        self.generated += 1
        index = info.get("parameter_index")
        await self._log(
            "generate", parameter_id=parameter_id, trial_job_id=trial_job_id, parameter_index=index
        )
        return {"x": parameter_id, "asked_by": trial_job_id, "index": index}

    async def receive_trial_result(
        self, parameter_id, parameters, value, trial_job_id=None, **info
    ):
        await self._log("result", parameter_id=parameter_id, trial_job_id=trial_job_id, value=value)

    async def trial_end(self, parameter_id, success, trial_job_id=None, **info):
        await self._log(
            "end", parameter_id=parameter_id, trial_job_id=trial_job_id, success=success
        )
