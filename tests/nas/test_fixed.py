"""apply_fixed_architecture: a tuner's parameters round-trip into the model; bad ones are named."""

from __future__ import annotations

import json

import anyio
import pytest
import torch

from asyncnni import tuners
from asyncnni.errors import NoMoreTrials
from asyncnni.nas import ArchitectureError, apply_fixed_architecture, search_space
from asyncnni.tuner import TunerDriver

OPS = ["conv3x3", "conv5x5", "maxpool", "zero"]


def tuner_parameters(space: dict) -> list[dict]:
    """Every parameter set NASRandom hands out for ``space``, until NoMoreTrials."""

    async def collect():
        driver = TunerDriver(tuners.create("NASRandom", seed=0))
        await driver.update_search_space(space)
        out = []
        while True:
            try:
                out.append(await driver.generate_parameters(len(out)))
            except NoMoreTrials:
                return out

    return anyio.run(collect)


def test_every_tuner_architecture_applies_exactly(toy_net):
    all_params = tuner_parameters(search_space(toy_net()))
    assert len(all_params) == 8
    x = torch.randn(2, 3, 8, 8)
    for params in all_params:
        model = toy_net()
        mutator = apply_fixed_architecture(model, params)
        decision = mutator.export()
        assert decision["op"].nonzero().flatten().tolist() == [params["op"]["_idx"]]
        assert decision["skip"].nonzero().flatten().tolist() == params["skip"]["_idx"]
        model.eval()
        stem = model.stem(x)
        op = model.op.candidates[params["op"]["_idx"]]
        branch = stem if params["skip"]["_idx"] == [0] else op(stem)
        assert torch.allclose(model(x), model.head(branch.mean(dim=(2, 3))))


def test_parameters_by_value_only_or_from_a_json_file(toy_net, tmp_path):
    file = tmp_path / "arch.json"
    file.write_text(json.dumps({"op": {"_value": "maxpool"}, "skip": {"_idx": [1]}}))
    decision = apply_fixed_architecture(toy_net(), file).export()
    assert decision["op"].tolist() == [False, False, True, False]
    assert decision["skip"].tolist() == [False, True]


GOOD = {"op": {"_value": "conv5x5", "_idx": 1}, "skip": {"_value": ["op"], "_idx": [1]}}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"nope": {"_value": "x", "_idx": 0}}, "unknown mutable key 'nope'"),
        ({"op": {"_value": "conv5x5", "_idx": 7}}, "parameter 'op': index 7 is out of range for 4"),
        (
            {"skip": {"_value": ["op"], "_idx": [2]}},
            "parameter 'skip': index 2 is out of range for 2",
        ),
        (
            {"op": {"_value": "maxpool", "_idx": 1}},
            "parameter 'op': _value 'maxpool' does not match",
        ),
        ({"op": {"_value": "conv7x7"}}, "parameter 'op': _value 'conv7x7' is not a candidate"),
        (
            {"skip": {"_value": ["stem", "op"], "_idx": [0, 1]}},
            "'skip' chooses 2 inputs, n_chosen is 1",
        ),
        ({"op": [0.5, 0.5]}, "decision for 'op' must be a 1-D tensor of 4 entries"),
    ],
)
def test_a_bad_architecture_is_refused_naming_the_key(toy_net, change, message):
    model = toy_net()
    with pytest.raises(ArchitectureError, match=message):
        apply_fixed_architecture(model, {**GOOD, **change})
    apply_fixed_architecture(model, GOOD)  # the failed attempt left the model unbound


def test_a_missing_key_is_named(toy_net):
    with pytest.raises(ArchitectureError, match="no decision for mutable key 'skip'"):
        apply_fixed_architecture(toy_net(), {"op": GOOD["op"]})
