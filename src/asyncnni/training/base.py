"""What every training service is given and gives back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
EARLY_STOPPED = "EARLY_STOPPED"
USER_CANCELED = "USER_CANCELED"


@dataclass(frozen=True)
class TrialJob:
    trial_job_id: str
    sequence: int  # order of start within the experiment, from 0
    trial_dir: Path
    env: dict[str, str]  # the ASYNCNNI_* variables of DESIGN.md for this job


@dataclass(frozen=True)
class TrialExit:
    event: str  # SUCCEEDED, FAILED, EARLY_STOPPED or USER_CANCELED
    exit_code: int | None
    message: str | None = None  # why, for a person: "exit code 1: ValueError: ..." and the like
