"""A tuner that writes down, as it is made, the fork templates this process has started."""

import json
from pathlib import Path

from asyncnni.tuners.random import RandomTuner
from tests.helpers import template_processes


class TemplateSeeingTuner(RandomTuner):
    def __init__(self, record: str) -> None:
        super().__init__(seed=0)
        Path(record).write_text(json.dumps(template_processes()))
