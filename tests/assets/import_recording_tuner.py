import random

from asyncnni import Tuner


class ImportRecordingTuner(Tuner):
    """Random x in [0, 1); writes the values that import_data brought to ``record_to``."""

    def __init__(self, record_to: str) -> None:
        self.record_to = record_to

    async def generate_parameters(self, parameter_id, **info):
        return {"x": random.random()}

    async def import_data(self, data):
        with open(self.record_to, "w") as f:
            f.write(" ".join(str(item["value"]) for item in data))
