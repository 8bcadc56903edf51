"""An asynchronous tuner for tests: every configuration but the first inherits from a parent.

The parent of parameter id ``i`` is ``(i - 1) // fanout``, so with a few jobs at once most
children are asked for while their parent still runs, and wait for it. Each configuration
names its checkpoint folder under ``shared_dir`` (``save_dir``) and the one to start from
(``restore_dir``). Decisions are recorded to ``record`` as JSON lines.
"""

import json

from asyncnni import NoMoreTrials, Tuner


class LineageTuner(Tuner):
    """``crash``: ids whose trial is told to crash before saving; ``hang``: ids whose trial is
    told never to end; ``on_parent_failure``: ``"scratch"`` (start without weights) or
    ``"reparent"`` (inherit from the latest configuration that succeeded instead)."""

    def __init__(
        self,
        record: str,
        limit: int,
        fanout: int = 2,
        crash: tuple[int, ...] = (),
        hang: tuple[int, ...] = (),
        on_parent_failure: str = "scratch",
    ) -> None:
        self.record = record
        self.limit = limit
        self.fanout = fanout
        self.crash = set(crash)
        self.hang = set(hang)
        self.on_parent_failure = on_parent_failure
        self.succeeded: list[int] = []  # ids with a final result, in the order results came

    def _save_dir(self, parameter_id: int) -> str:
        return str(self.shared_dir / f"p{parameter_id}")

    async def generate_parameters(self, parameter_id, **info):
        if parameter_id >= self.limit:
            raise NoMoreTrials
        decision = {"parameter_id": parameter_id, "parent": None, "restore_from": None}
        if parameter_id > 0:
            parent = (parameter_id - 1) // self.fanout
            outcome = await self.wait_for_result(parent)
            decision.update(parent=parent, succeeded=outcome.succeeded, reason=outcome.reason)
            if outcome.succeeded:
                decision["restore_from"] = parent
            elif self.on_parent_failure == "reparent" and self.succeeded:
                decision["restore_from"] = self.succeeded[-1]
        with open(self.record, "a") as f:
            f.write(json.dumps(decision) + "\n")
        restore_from = decision["restore_from"]
        return {
            "x": parameter_id,
            "save_dir": self._save_dir(parameter_id),
            "restore_dir": None if restore_from is None else self._save_dir(restore_from),
            "crash": parameter_id in self.crash,
            "hang": parameter_id in self.hang,
        }

    async def receive_trial_result(self, parameter_id, parameters, value, **info):
        self.succeeded.append(parameter_id)
