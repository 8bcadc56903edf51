"""Decisions are applied exactly; mutators bind once; reset and export keep their promises."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from asyncnni.nas import (
    ArchitectureError,
    InputChoice,
    LayerChoice,
    Mutator,
    NasError,
    RandomMutator,
    apply_fixed_architecture,
    decision_to_json,
)


class Add(nn.Module):
    """Adds a constant and counts its calls, so a test sees which branches ran."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x + self.value


class Scripted(Mutator):
    """Search and final decisions given by the test."""

    def __init__(self, model, search, final=None):
        super().__init__(model)
        self.search, self.final = search, final

    def sample_search(self):
        return dict(self.search)

    def sample_final(self):
        return dict(self.final)


class OneLayer(nn.Module):
    def __init__(self, reduction="sum", key="op"):
        super().__init__()
        self.op = LayerChoice([Add(1.0), Add(10.0), Add(100.0)], key=key, reduction=reduction)

    def forward(self, x):
        return self.op(x)


class OneInput(nn.Module):
    def __init__(self, n_chosen=None, reduction="sum"):
        super().__init__()
        self.pick = InputChoice(3, n_chosen=n_chosen, reduction=reduction, key="pick")

    def forward(self, tensors):
        return self.pick(tensors)


X = torch.zeros(2, 3)
INPUTS = [torch.full((2, 3), 1.0), torch.full((2, 3), 10.0), torch.full((2, 3), 100.0)]


def calls(model):
    return [op.calls for op in model.op.candidates]


def test_only_the_chosen_branch_is_computed():
    model = OneLayer()
    mutator = Scripted(model, {"op": torch.tensor([False, True, False])})
    mutator.reset()
    assert torch.equal(model(X), X + 10.0)
    assert calls(model) == [0, 1, 0]


def test_float_weights_mix_every_branch_as_given():
    model = OneLayer()
    mutator = Scripted(model, {"op": torch.tensor([0.5, 0.25, 0.125])})
    mutator.reset()
    assert torch.allclose(model(X), X + 0.5 * 1 + 0.25 * 10 + 0.125 * 100)
    assert calls(model) == [1, 1, 1]


@pytest.mark.parametrize(
    ("reduction", "expected"),
    [
        ("sum", torch.full((2, 3), 101.0)),
        ("mean", torch.full((2, 3), 50.5)),
        ("concat", torch.cat([torch.full((2, 3), 1.0), torch.full((2, 3), 100.0)], dim=1)),
    ],
)
def test_reductions_of_several_chosen_branches(reduction, expected):
    layer, inputs = OneLayer(reduction), OneInput(None, reduction)
    mask = torch.tensor([True, False, True])
    Scripted(layer, {"op": mask}).reset()
    Scripted(inputs, {"pick": mask}).reset()
    assert torch.equal(layer(X), expected)
    assert torch.equal(inputs(INPUTS), expected)


def test_reduction_none_returns_the_chosen_outputs():
    model = OneInput(None, "none")
    Scripted(model, {"pick": torch.tensor([False, True, True])}).reset()
    out = model(INPUTS)
    assert isinstance(out, list) and len(out) == 2
    assert torch.equal(out[0], INPUTS[1]) and torch.equal(out[1], INPUTS[2])


def test_input_choice_with_nothing_chosen_gives_none():
    model = OneInput(None)
    Scripted(model, {"pick": torch.tensor([False, False, False])}).reset()
    assert model(INPUTS) is None


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = LayerChoice([Add(1.0), Add(10.0), Add(100.0)], key="shared")
        self.second = LayerChoice([Add(1.0), Add(10.0), Add(100.0)], key="shared")

    def forward(self, x):
        return self.first(x), self.second(x)


def test_shared_keys_share_one_decision():
    model = Shared()
    mutator = RandomMutator(model, seed=1)
    assert [m.key for m in mutator.mutables] == ["shared"]
    seen = set()
    for _ in range(20):
        mutator.reset()
        a, b = model(X)
        assert torch.equal(a, b)
        seen.add(a[0, 0].item())
    assert seen == {1.0, 10.0, 100.0}


def test_shared_key_with_different_shapes_is_refused():
    model = nn.Module()
    model.a = LayerChoice([Add(1.0), Add(2.0)], key="k")
    model.b = LayerChoice([Add(1.0), Add(2.0), Add(3.0)], key="k")
    with pytest.raises(NasError, match="'k'"):
        RandomMutator(model)


def test_random_mutator_respects_n_chosen_and_seed():
    model = OneInput(n_chosen=2)
    first = RandomMutator(model, seed=3)
    draws = [first.export()["pick"] for _ in range(30)]
    assert all(d.dtype == torch.bool and int(d.sum()) == 2 for d in draws)
    again = RandomMutator(OneInput(n_chosen=2), seed=3)
    assert all(torch.equal(d, again.export()["pick"]) for d in draws)


def test_a_decision_breaking_n_chosen_is_refused():
    model = OneInput(n_chosen=1)
    mutator = Scripted(model, {"pick": torch.tensor([True, True, False])})
    with pytest.raises(ArchitectureError, match="'pick' chooses 2 inputs, n_chosen is 1"):
        mutator.reset()


def test_reset_applies_until_the_next_reset_and_export_leaves_the_model_alone():
    model = OneLayer()
    mutator = Scripted(
        model,
        {"op": torch.tensor([True, False, False])},
        {"op": torch.tensor([False, False, True])},
    )
    mutator.reset()
    exported = mutator.export()
    assert exported["op"].tolist() == [False, False, True]
    assert torch.equal(model(X), X + 1.0) and torch.equal(model(X), X + 1.0)
    mutator.search = {"op": torch.tensor([False, True, False])}
    assert torch.equal(model(X), X + 1.0)  # a new search decision waits for reset()
    mutator.reset()
    assert torch.equal(model(X), X + 10.0)


def test_forward_needs_a_mutator_and_a_reset():
    model = OneLayer()
    with pytest.raises(NasError, match="no mutator"):
        model(X)
    RandomMutator(model)
    with pytest.raises(NasError, match="reset"):
        model(X)


def test_a_second_binding_is_refused_and_leaves_the_first_in_charge():
    model = OneLayer()
    first = Scripted(model, {"op": torch.tensor([False, True, False])})
    with pytest.raises(NasError, match="already bound to Scripted"):
        RandomMutator(model)
    with pytest.raises(NasError, match="already bound"):
        apply_fixed_architecture(model, {"op": [True, False, False]})
    first.reset()
    assert model.op.mutator is first and torch.equal(model(X), X + 10.0)


def test_unkeyed_mutables_are_keyed_by_their_path():
    model = nn.Module()
    model.block = nn.Sequential(LayerChoice([Add(1.0), Add(2.0)]), InputChoice(2, n_chosen=1))
    mutator = RandomMutator(model)
    assert [m.key for m in mutator.mutables] == ["block.0", "block.1"]


def test_exported_decision_converts_to_json_and_back():
    source = OneInput(n_chosen=2)
    exported = decision_to_json(RandomMutator(source, seed=5).export())
    text = json.dumps(exported)
    assert isinstance(exported["pick"], list) and sum(exported["pick"]) == 2
    target = OneInput(n_chosen=2)
    apply_fixed_architecture(target, json.loads(text))
    chosen = [INPUTS[i] for i, on in enumerate(exported["pick"]) if on]
    assert torch.equal(target(INPUTS), chosen[0] + chosen[1])
