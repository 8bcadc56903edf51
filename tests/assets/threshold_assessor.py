from asyncnni import Assessor, AssessResult


class ThresholdAssessor(Assessor):
    """Stops a trial once it has reported ``start_step`` values and the last is below ``threshold``."""

    def __init__(self, threshold: float, start_step: int = 2) -> None:
        self.threshold = threshold
        self.start_step = start_step

    async def assess_trial(self, trial_job_id, trial_history, **info):
        if len(trial_history) >= self.start_step and trial_history[-1] < self.threshold:
            return AssessResult.Bad
        return AssessResult.Good
