"""The multi-fidelity test functions: known optima, fidelity effects, curves that cross."""

from __future__ import annotations

import numpy as np
import pytest

from asyncnni.bench.functions import CROSSING_CURVES, MF_HARTMANN6, crossing_curves, mf_hartmann6
from asyncnni.search_space import SearchSpace

X_STAR = [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]


def h6_params(x) -> dict:
    return {f"x{i + 1}": v for i, v in enumerate(x)}


def test_mf_hartmann6_has_its_optimum_at_full_fidelity_and_shifts_alpha_below() -> None:
    assert mf_hartmann6(h6_params(X_STAR), 81) == pytest.approx(MF_HARTMANN6.optimum, abs=1e-9)
    rng = np.random.default_rng(0)
    for x in rng.random((20, 6)):
        full = mf_hartmann6(h6_params(x), 81)
        assert full >= MF_HARTMANN6.optimum
        # alpha - 0.1 (1 - z): the inner exponentials are unchanged, their weights shrink
        inner = mf_hartmann6(h6_params(x), 81) - mf_hartmann6(h6_params(x), 0)
        assert mf_hartmann6(h6_params(x), 27) == pytest.approx(full - inner * (1 - 27 / 81))


def test_crossing_curves_decrease_cross_and_reach_the_optimum() -> None:
    fast = {"lr": 0.5, "batch_size": 64, "layers": 3, "dropout": 0.25}
    slow = {"lr": 0.01, "batch_size": 64, "layers": 3, "dropout": 0.25}
    a, b = crossing_curves(fast, 81), crossing_curves(slow, 81)
    assert len(a) == 81 and all(x >= y for x, y in zip(a, a[1:], strict=False))
    assert a[2] < b[2] and a[-1] > b[-1]  # the fast learner leads early and loses at the end
    space = SearchSpace(CROSSING_CURVES.search_space)
    rng = np.random.default_rng(1)
    finals = [CROSSING_CURVES.final(space.sample(rng)) for _ in range(200)]
    assert min(finals) >= CROSSING_CURVES.optimum
    assert b[-1] - CROSSING_CURVES.optimum < 1e-3  # lr 0.01 is near the best
