"""Medianstop: NNI's rule, in both optimise modes."""

from __future__ import annotations

from itertools import accumulate

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncnni.assessor import AssessResult
from asyncnni.assessors.medianstop import MedianstopAssessor

pytestmark = pytest.mark.anyio


async def complete(assessor, job, history, success=True):
    for step in range(1, len(history) + 1):
        await assessor.assess_trial(job, history[:step])
    await assessor.trial_end(job, success)


async def test_good_without_completed_trials_and_before_start_step():
    assessor = MedianstopAssessor(start_step=3)
    await complete(assessor, "done", [0.9, 0.9, 0.9, 0.9])
    assert await assessor.assess_trial("new", [0.0]) is AssessResult.Good
    assert await assessor.assess_trial("new", [0.0, 0.0]) is AssessResult.Good
    assert await assessor.assess_trial("new", [0.0, 0.0, 0.0]) is AssessResult.Bad
    assert await MedianstopAssessor().assess_trial("first", [0.0]) is AssessResult.Good


async def test_best_so_far_against_median_of_running_averages():
    assessor = MedianstopAssessor()
    # running averages at step 2: 1.5, 3.0, 0.75 -> median 1.5
    await complete(assessor, "a", [1, 2, 3])
    await complete(assessor, "b", [3, 3, 3])
    await complete(assessor, "c", [0.5, 1.0])
    assert await assessor.assess_trial("x", [1.4, 0.2]) is AssessResult.Bad
    assert await assessor.assess_trial("y", [1.5, 0.2]) is AssessResult.Good  # equal is not worse
    # step 3: only a and b reached it; averages 2.0 and 3.0, the lower one when maximising
    assert await assessor.assess_trial("z", [1.9, 1.0, 1.0]) is AssessResult.Bad
    assert await assessor.assess_trial("w", [2.0, 1.0, 1.0]) is AssessResult.Good
    # step 4: no completed trial got that far
    assert await assessor.assess_trial("v", [0, 0, 0, 0]) is AssessResult.Good


async def test_minimize_takes_the_upper_middle_and_the_lowest_so_far():
    assessor = MedianstopAssessor(optimize_mode="minimize")
    await complete(assessor, "a", [2.0])
    await complete(assessor, "b", [4.0])
    assert await assessor.assess_trial("x", [4.1]) is AssessResult.Bad
    assert await assessor.assess_trial("y", [9.0, 4.0]) is AssessResult.Good  # no one at step 2
    assert await assessor.assess_trial("z", [3.9]) is AssessResult.Good


async def test_failed_and_stopped_trials_do_not_count():
    assessor = MedianstopAssessor()
    await complete(assessor, "failed", [5.0, 5.0], success=False)
    assert await assessor.assess_trial("x", [0.0]) is AssessResult.Good


async def test_metric_maps_use_their_default():
    assessor = MedianstopAssessor()
    await complete(assessor, "a", [{"default": 1.0, "loss": 3}])
    assert await assessor.assess_trial("x", [{"default": 0.5}]) is AssessResult.Bad


def reference_verdict(completed: list[list[float]], history: list[float], maximize: bool) -> bool:
    """NNI's medianstop_assessor.assess_trial, restated: True is Good."""
    step = len(history)
    averages = sorted(list(accumulate(h))[step - 1] / step for h in completed if len(h) >= step)
    if not averages:
        return True
    if maximize:
        return not max(history) < averages[(len(averages) - 1) // 2]
    return not min(history) > averages[len(averages) // 2]


curves = st.lists(st.integers(-50, 50).map(lambda v: v / 10), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(completed=st.lists(curves, max_size=6), history=curves, maximize=st.booleans())
def test_matches_nni_rule_and_mirrors_between_modes(completed, history, maximize):
    async def verdicts():
        mode = "maximize" if maximize else "minimize"
        direct, mirrored = (
            MedianstopAssessor(mode),
            MedianstopAssessor("minimize" if maximize else "maximize"),
        )
        for i, h in enumerate(completed):
            await complete(direct, f"t{i}", h)
            await complete(mirrored, f"t{i}", [-v for v in h])
        return (
            await direct.assess_trial("new", history),
            await mirrored.assess_trial("new", [-v for v in history]),
        )

    direct, mirrored = anyio.run(verdicts)
    assert direct is mirrored
    assert (direct is AssessResult.Good) == reference_verdict(completed, history, maximize)
