"""Trial jobs as Ray tasks, on whichever node of a Ray cluster has the resources.

``training_service: {platform: ray, address, resources_per_trial, runtime_env}``. Each job
is one task (``_ray_task.run_trial``) asking for ``resources_per_trial`` (``cpu``, ``gpu``,
``memory`` in bytes, any custom resource; ``trial_gpu_number`` is the default ``gpu``); Ray
queues it until a node has them. The trial reaches the dispatcher over tcp, so trials on
other machines need ``dispatcher.bind`` on an address they can reach (see
docs/distributed.md). ``address`` omitted: a local Ray is started for the run and stopped
after it; ``auto`` or ``ray://...``: an existing cluster. A Ray already initialised in this
process (``ray.init`` by the caller) is used as it is and left running.

Kills (assessor, ``max_trial_duration``, a stop) cancel the task softly; the task ends the
trial's whole process group on its node and delivers its last output. A node that dies ends
its jobs FAILED with Ray's message, which names the node; the experiment goes on.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio

from ..errors import ConfigError
from ._ray_task import LogSink
from .base import (
    EARLY_STOPPED,
    FAILED,
    SUCCEEDED,
    USER_CANCELED,
    TrainingService,
    TrialEvent,
    TrialExit,
    TrialJob,
)
from .local import TERMINATE_GRACE, failure_message

if TYPE_CHECKING:
    from ..config import ExperimentConfig

log = logging.getLogger("asyncnni.training.ray")

LOCAL_OBJECT_STORE_BYTES = 256 * 1024 * 1024  # trials send nothing through it
CANCEL_WAIT = TERMINATE_GRACE * 2 + 10  # a soft cancel this long unanswered: force it


def ray_resources(resources: dict[str, float], gpus: int) -> dict[str, Any]:
    """``resources_per_trial`` as Ray's task options."""
    rest = dict(resources)
    options: dict[str, Any] = {
        "num_cpus": rest.pop("cpu", 1),
        "num_gpus": rest.pop("gpu", gpus),
    }
    if "memory" in rest:
        options["memory"] = rest.pop("memory")
    if rest:
        options["resources"] = rest
    return options


class RayTrainingService(TrainingService):
    platform = "ray"
    address_kind = "tcp"

    def __init__(
        self,
        command: str,
        code_directory: Path,
        *,
        address: str | None = None,
        resources: dict[str, Any] | None = None,
        runtime_env: dict | None = None,
        max_trial_duration: float | None = None,
    ) -> None:
        self.command = command
        self.code_directory = code_directory
        self.address = address
        self.options = {"max_retries": 0, **ray_resources(resources or {}, 0)}
        self.runtime_env = runtime_env
        self.max_trial_duration = max_trial_duration
        self._ray: Any = None
        self._started_ray = False
        self._sink: Any = None
        self._task: Any = None
        self._refs: dict[str, Any] = {}
        self._kill_reasons: dict[str, tuple[TrialEvent, str]] = {}

    @classmethod
    def from_config(cls, config: ExperimentConfig, folder: Path) -> RayTrainingService:
        ts = config.training_service
        if ts.address is not None and config.dispatcher.bind is None:
            raise ConfigError(
                "training_service.address: trials on a Ray cluster must reach the dispatcher; "
                "set dispatcher.bind (e.g. tcp://0.0.0.0:0) and dispatcher.advertise "
                "(tcp://<this machine's name>:0)"
            )
        resources = dict(ts.resources_per_trial or {})
        resources.setdefault("gpu", config.trial_gpu_number)
        return cls(
            config.trial_command,
            config.trial_code_directory,
            address=ts.address,
            resources=resources,
            runtime_env=ts.runtime_env,
            max_trial_duration=config.max_trial_duration,
        )

    # --- lifecycle --------------------------------------------------------------------

    async def __aenter__(self) -> RayTrainingService:
        await anyio.to_thread.run_sync(self._connect)
        return self

    def _connect(self) -> None:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        from . import _ray_task

        self._ray = ray
        if not ray.is_initialized():
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            local = self.address is None
            ray.init(
                address=self.address,
                runtime_env=self.runtime_env,
                include_dashboard=False if local else None,
                object_store_memory=LOCAL_OBJECT_STORE_BYTES if local else None,
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
            self._started_ray = True
        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        self._sink = ray.remote(LogSink).options(num_cpus=0, scheduling_strategy=here).remote({})
        self._task = ray.remote(_ray_task.run_trial)

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self._disconnect)

    def _disconnect(self) -> None:
        ray = self._ray
        if ray is None:
            return
        if self._sink is not None:
            ray.kill(self._sink)
        if self._started_ray:
            ray.shutdown()

    # --- jobs -------------------------------------------------------------------------

    def kill(self, trial_job_id: str, reason: str, event: TrialEvent = EARLY_STOPPED) -> None:
        ref = self._refs.get(trial_job_id)
        if ref is not None and trial_job_id not in self._kill_reasons:
            self._kill_reasons[trial_job_id] = (event, reason)
            self._ray.cancel(ref)

    def kill_all(self, reason: str) -> None:
        for trial_job_id in list(self._refs):
            self.kill(trial_job_id, reason, USER_CANCELED)

    async def run(self, job: TrialJob) -> TrialExit:
        ray = self._ray
        log_path = job.trial_dir / "trial.log"
        await self._sink.open.remote(job.trial_job_id, str(log_path))
        ref = self._task.options(**self.options, name=f"trial {job.trial_job_id}").remote(
            job.trial_job_id,
            self.command,
            str(self.code_directory),
            job.env,
            self._sink,
            TERMINATE_GRACE,
        )
        self._refs[job.trial_job_id] = ref
        deadline = self.max_trial_duration or math.inf
        try:
            with anyio.move_on_after(deadline):
                try:
                    exit_code = await ref
                except ray.exceptions.TaskCancelledError:
                    event, reason = self._kill_reasons[job.trial_job_id]
                    return TrialExit(event, None, reason)
                except ray.exceptions.RayError as err:
                    return await self._lost(job, err)
                if exit_code == 0:
                    return TrialExit(SUCCEEDED, 0)
                return TrialExit(FAILED, exit_code, failure_message(exit_code, log_path))
            await self._cancel_and_wait(ref)
            return TrialExit(
                FAILED, None, f"killed after max_trial_duration ({self.max_trial_duration:g}s)"
            )
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await self._cancel_and_wait(ref)
            raise
        finally:
            self._refs.pop(job.trial_job_id, None)
            self._kill_reasons.pop(job.trial_job_id, None)

    async def _cancel_and_wait(self, ref: Any) -> None:
        """Cancel the task softly (it ends the trial's process group) and wait for it; force
        it when it does not answer (the guard then ends the group when its worker is gone)."""
        ray = self._ray
        ray.cancel(ref)
        with anyio.move_on_after(CANCEL_WAIT) as waited:
            with contextlib.suppress(ray.exceptions.RayError):
                await ref
        if waited.cancelled_caught:
            ray.cancel(ref, force=True)

    async def _lost(self, job: TrialJob, err: Exception) -> TrialExit:
        """A job lost to the infrastructure: its node died, its worker crashed."""
        node = await self._sink.node_of.remote(job.trial_job_id)
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        where = f" on Ray node {node}" if node else ""
        return TrialExit(
            FAILED,
            None,
            f"lost to the infrastructure{where}: {type(err).__name__}: {first}",
            lost=True,
        )
