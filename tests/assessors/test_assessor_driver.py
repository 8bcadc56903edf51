"""AssessorDriver: any assessor style, called from the event loop; the registry of built-ins."""

from __future__ import annotations

import enum
import threading

import pytest

from asyncnni import assessors
from asyncnni.assessor import Assessor, AssessorDriver, AssessResult
from asyncnni.assessors.curvefitting import CurvefittingAssessor
from asyncnni.assessors.medianstop import MedianstopAssessor
from asyncnni.errors import PluginError

pytestmark = pytest.mark.anyio


class NNIAssessResult(enum.Enum):  # what `from nni.assessor import AssessResult` gives
    Good = True
    Bad = False


class PlainAssessor:
    """Written the NNI way: plain methods, no **kwargs, no trial_end."""

    def __init__(self):
        self.calls = []

    def assess_trial(self, trial_job_id, trial_history):
        self.calls.append((trial_job_id, trial_history, threading.current_thread()))
        trial_history.append(-1)  # must not reach the caller's list
        return NNIAssessResult.Bad if len(trial_history) > 3 else NNIAssessResult.Good


async def test_plain_nni_style_assessor_runs_in_a_worker_thread():
    assessor = PlainAssessor()
    driver = AssessorDriver(assessor)
    history = [0.1, 0.2]
    assert await driver.assess_trial("job", history, parameter_id=7) is AssessResult.Good
    assert await driver.assess_trial("job", [0.1, 0.2, 0.3], parameter_id=7) is AssessResult.Bad
    assert history == [0.1, 0.2]
    assert assessor.calls[0][:2] == ("job", [0.1, 0.2, -1])
    assert assessor.calls[0][2] is not threading.current_thread()
    await driver.trial_end("job", True, parameter_id=7)  # missing method: skipped


class AsyncAssessor(Assessor):
    def __init__(self, verdict):
        self.verdict = verdict
        self.seen = []

    async def assess_trial(self, trial_job_id, trial_history, **info):
        self.seen.append(("assess", trial_job_id, info))
        return self.verdict

    async def trial_end(self, trial_job_id, success, **info):
        self.seen.append(("end", trial_job_id, success, info))


@pytest.mark.parametrize(
    ("verdict", "expected"),
    [(AssessResult.Bad, AssessResult.Bad), (True, AssessResult.Good), (False, AssessResult.Bad)],
)
async def test_async_assessor_gets_info_and_may_answer_a_bool(verdict, expected):
    assessor = AsyncAssessor(verdict)
    driver = AssessorDriver(assessor)
    assert await driver.assess_trial("a", [1.0], parameter_id=3) is expected
    await driver.trial_end("a", False, parameter_id=3)
    assert assessor.seen == [
        ("assess", "a", {"parameter_id": 3}),
        ("end", "a", False, {"parameter_id": 3}),
    ]


@pytest.mark.parametrize("verdict", [None, 1, "Good"])
async def test_anything_but_a_verdict_is_a_type_error_naming_the_assessor(verdict):
    with pytest.raises(TypeError, match=r"AsyncAssessor\.assess_trial\('a'\) returned"):
        await AssessorDriver(AsyncAssessor(verdict)).assess_trial("a", [1.0])


async def test_base_class_must_be_overridden():
    with pytest.raises(NotImplementedError):
        await AssessorDriver(Assessor()).assess_trial("a", [1.0])


def test_an_object_without_assess_trial_is_refused():
    with pytest.raises(TypeError, match="assessor object has no assess_trial method"):
        AssessorDriver(object())


@pytest.mark.parametrize(
    ("name", "cls"),
    [("Medianstop", MedianstopAssessor), ("curvefitting", CurvefittingAssessor)],
)
def test_registry_creates_built_ins_by_name(name, cls):
    assert isinstance(assessors.create(name), cls)
    assert assessors.names() == ["curvefitting", "medianstop"]


@pytest.mark.parametrize(
    ("name", "class_args", "fragment"),
    [
        ("Medianstop", {"optimize_mode": "up"}, "optimize_mode"),
        ("Medianstop", {"start_step": -1}, "start_step"),
        ("Medianstop", {"colour": 1}, "bad class_args"),
        ("Curvefitting", {"threshold": 1.5}, "threshold"),
        ("Curvefitting", {"epoch_num": 0}, "epoch_num"),
        ("Curvefitting", {"gap": True}, "gap"),
        ("Medianstp", {}, "unknown assessor"),
    ],
)
def test_registry_reports_bad_names_and_class_args(name, class_args, fragment):
    with pytest.raises(PluginError, match=fragment):
        assessors.create(name, **class_args)
