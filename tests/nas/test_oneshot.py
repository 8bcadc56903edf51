"""DARTS, ENAS and the plain (single-path) Trainer lower the loss of a toy task; checkpoints resume."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from asyncnni.nas import (
    DartsMutator,
    DartsTrainer,
    EnasMutator,
    EnasTrainer,
    InputChoice,
    RandomMutator,
    Trainer,
    apply_fixed_architecture,
)


def sgd(model):
    return torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)


def assert_learned(history, epochs):
    assert [h["epoch"] for h in history] == list(range(epochs))
    first, last = history[0]["train_loss"], history[-1]["train_loss"]
    assert last < 0.7 * first, history
    assert history[-1]["valid_acc"] > 0.5  # 4 classes: chance is 0.25


def assert_exports_an_architecture(trainer, toy_net, tmp_path):
    file = tmp_path / "arch.json"
    exported = trainer.export(file)
    assert json.loads(file.read_text()) == exported
    assert sum(exported["op"]) == 1 and sum(exported["skip"]) == 1
    apply_fixed_architecture(toy_net(), exported)


def test_darts_lowers_the_loss_and_learns_architecture_weights(toy_net, toy_data, tmp_path):
    model = toy_net()
    train, valid = toy_data()
    trainer = DartsTrainer(
        model, nn.CrossEntropyLoss(), sgd(model), 4, train, valid, batch_size=32, arch_lr=3e-2
    )
    assert isinstance(trainer.mutator, DartsMutator)
    alphas = [a.detach().clone() for a in trainer.mutator.alphas]
    history = trainer.train()
    assert_learned(history, 4)
    assert all("train_arch_loss" in h for h in history)
    moved = [
        (a - b).abs().max().item() for a, b in zip(trainer.mutator.alphas, alphas, strict=True)
    ]
    assert min(moved) > 1e-3
    # "zero" outputs nothing: the search must not pick it, nor send the head zeros through it
    weights = torch.softmax(trainer.mutator.alphas[0], dim=-1)
    assert weights[3] < weights[:3].max()
    assert_exports_an_architecture(trainer, toy_net, tmp_path)


def test_enas_lowers_the_loss_and_trains_its_controller(toy_net, toy_data, tmp_path):
    model = toy_net()
    train, valid = toy_data()
    trainer = EnasTrainer(
        model, nn.CrossEntropyLoss(), sgd(model), 4, train, valid, batch_size=32, ctrl_steps=10
    )
    assert isinstance(trainer.mutator, EnasMutator)
    controller = [p.detach().clone() for p in trainer.mutator.parameters()]
    history = trainer.train()
    assert_learned(history, 4)
    assert all(0.0 <= h["train_reward"] <= 1.0 for h in history)
    assert history[-1]["train_reward"] > history[0]["train_reward"]
    changed = [
        not torch.equal(p, q) for p, q in zip(trainer.mutator.parameters(), controller, strict=True)
    ]
    assert any(changed)
    assert_exports_an_architecture(trainer, toy_net, tmp_path)


def test_enas_samples_respect_n_chosen_and_carry_log_probabilities():
    model = nn.Module()
    model.pick = nn.ModuleList([InputChoice(4, n_chosen=2), InputChoice(3, n_chosen=None)])
    mutator = EnasMutator(model)
    for _ in range(20):
        decision = mutator.sample_search()
        assert int(decision["pick.0"].sum()) == 2
        assert mutator.sample_log_prob.requires_grad and mutator.sample_log_prob.item() < 0
    assert int(mutator.sample_final()["pick.0"].sum()) == 2


def test_single_path_trainer_checkpoints_and_resumes(toy_net, toy_data, tmp_path):
    def make():
        torch.manual_seed(0)
        model = toy_net()
        train, valid = toy_data(128, 64)
        return Trainer(
            model,
            RandomMutator(model, seed=0),
            nn.CrossEntropyLoss(),
            sgd(model),
            3,
            train,
            valid,
            batch_size=32,
            checkpoint_dir=tmp_path / "ckpt",
        )

    straight = make()
    straight.train()
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == [
        "arch_0.json",
        "arch_1.json",
        "arch_2.json",
        "epoch_0.pt",
        "epoch_1.pt",
        "epoch_2.pt",
    ]
    resumed = make()
    resumed.load_checkpoint(tmp_path / "ckpt" / "epoch_2.pt")
    assert resumed.start_epoch == 3 and resumed.history == straight.history
    assert resumed.train() == straight.history  # nothing left to train
    for a, b in zip(
        resumed.model.state_dict().values(), straight.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_arch_split_must_leave_data_on_both_sides(toy_net, toy_data, fraction):
    model = toy_net()
    train, valid = toy_data(16, 8)
    with pytest.raises(ValueError, match="cannot split 16 samples"):
        DartsTrainer(model, nn.CrossEntropyLoss(), sgd(model), 1, train, valid, arch_split=fraction)
