"""SMAC through the smac package: what the contract suite does not cover."""

from __future__ import annotations

import pytest

from asyncnni import tuners
from asyncnni.errors import SearchSpaceError

from .drive import drive

pytest.importorskip("smac", reason="SMAC needs its extra installed")
pytestmark = pytest.mark.anyio


async def test_types_smac_lacks_are_refused_naming_the_parameter():
    tuner = tuners.create("SMACTuner")
    with pytest.raises(SearchSpaceError, match="noise: tuner SMACTuner does not support normal"):
        await tuner.update_search_space(
            {
                "x": {"_type": "uniform", "_value": [0, 1]},
                "noise": {"_type": "normal", "_value": [0, 1]},
            }
        )


async def test_config_dedup_hands_out_each_configuration_once_then_stops():
    tuner = tuners.create("SMAC", config_dedup=True, n_startup_trials=2, n_candidates=50, seed=0)
    await tuner.update_search_space({"a": {"_type": "choice", "_value": [1, 2, 3]}})
    configs = await drive(tuner, 10, lambda p: float(p["a"]))
    assert sorted(c["a"] for c in configs) == [1, 2, 3]
