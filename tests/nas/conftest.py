"""Tiny models and data for the NAS tests: a few seconds on two CPU cores."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.utils.data import TensorDataset  # noqa: E402

from asyncnni.nas import InputChoice, LayerChoice  # noqa: E402


@pytest.fixture(autouse=True)
def _seeded_torch():
    torch.set_num_threads(1)
    torch.manual_seed(0)


def conv(c: int, k: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(c, c, k, padding=k // 2, bias=False), nn.BatchNorm2d(c), nn.ReLU()
    )


class ToyNet(nn.Module):
    """stem -> LayerChoice(op) -> InputChoice(skip: stem or op) -> pooled linear head."""

    def __init__(self, channels: int = 8, classes: int = 4) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1), nn.ReLU())
        self.op = LayerChoice(
            {
                "conv3x3": conv(channels, 3),
                "conv5x5": conv(channels, 5),
                "maxpool": nn.MaxPool2d(3, stride=1, padding=1),
                "zero": Zero(),
            },
            key="op",
        )
        self.skip = InputChoice(["stem", "op"], n_chosen=1, key="skip")
        self.head = nn.Linear(channels, classes)

    def forward(self, x):
        a = self.stem(x)
        b = self.op(a)
        return self.head(self.skip([a, b]).mean(dim=(2, 3)))


class Zero(nn.Module):
    def forward(self, x):
        return x * 0.0


@pytest.fixture
def toy_net():
    return ToyNet


@pytest.fixture
def toy_data():
    """(train, valid): 4 classes, each a colour (a mean per channel) under pixel noise, 8x8."""

    def make(n_train: int = 512, n_valid: int = 128, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        colours = torch.randn(4, 3, 1, 1, generator=g)

        def draw(n):
            y = torch.randint(0, 4, (n,), generator=g)
            x = colours[y] + torch.randn(n, 3, 8, 8, generator=g)
            return TensorDataset(x, y)

        return draw(n_train), draw(n_valid)

    return make
