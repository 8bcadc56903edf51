"""Auto-quantization, phase by phase: a MultiPhaseTuner that plans each trial job on its own.

Every trial job trains one model through several phases. Before each phase the job asks
for a configuration; this tuner answers with the bit width its weights are quantized to in
that phase, chosen from the job's previous result:

- the first phase of a job runs at full width (32 bits) and sets the job's reference accuracy;
- after a phase whose accuracy stays within ``tolerance`` of that reference, the next phase
  tries one step narrower (32 -> 16 -> 8);
- after a phase that lost more, the next one goes one step wider again.

The job's other hyperparameters (here ``hidden`` and ``lr``) are drawn once, when the job
first asks, and kept for all its phases: the phases refine one model.
"""

import random
from dataclasses import dataclass, field

from asyncnni import MultiPhaseTuner


@dataclass
class JobPlan:
    """What the tuner knows about one trial job."""

    hyperparameters: dict
    level: int = 0  # index into the tuner's bit widths, widest first
    reference: float | None = None  # accuracy of the job's full-width phase
    history: list = field(default_factory=list)  # (bits, accuracy or None), one per phase


class QuantizationTuner(MultiPhaseTuner):
    """Class args: ``bits`` (widths to try, widest first), ``tolerance`` (accuracy a narrower
    width may lose), ``seed``."""

    def __init__(self, bits=(32, 16, 8), tolerance=0.02, seed=0):
        self.bits = sorted(bits, reverse=True)
        self.tolerance = tolerance
        self.rng = random.Random(seed)
        self.space = {}
        self.jobs: dict[str, JobPlan] = {}

    async def update_search_space(self, search_space):
        for name, spec in search_space.items():
            if spec.get("_type") != "choice":
                raise ValueError(f"QuantizationTuner: {name!r} must be a choice, not {spec}")
        self.space = search_space

    async def generate_parameters(self, parameter_id, trial_job_id=None, **info):
        plan = self.jobs.get(trial_job_id)
        if plan is None:
            drawn = {name: self.rng.choice(spec["_value"]) for name, spec in self.space.items()}
            plan = self.jobs[trial_job_id] = JobPlan(drawn)
        return {**plan.hyperparameters, "bits": self.bits[plan.level], "phase": len(plan.history)}

    async def receive_trial_result(
        self, parameter_id, parameters, value, trial_job_id=None, **info
    ):
        plan = self.jobs[trial_job_id]
        plan.history.append((parameters["bits"], value))
        if plan.reference is None:
            plan.reference = value
        if value >= plan.reference - self.tolerance:
            plan.level = min(plan.level + 1, len(self.bits) - 1)
        else:
            plan.level = max(plan.level - 1, 0)

    async def trial_end(self, parameter_id, success, trial_job_id=None, **info):
        if not success and trial_job_id in self.jobs:  # a phase without a result: go wider
            plan = self.jobs[trial_job_id]
            plan.level = max(plan.level - 1, 0)
