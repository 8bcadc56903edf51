"""The search space of the NAS examples: a small CNN on synthetic images.

Each of three cells applies one searched operation to the latest feature map and adds one
searched earlier output (a skip connection): 5 ** 3 * (1 * 2 * 3) = 750 architectures.
The images are made here from a fixed seed, so nothing is downloaded: four classes,
two colours times two stripe orientations, under pixel noise. Telling the stripes apart
takes convolutions; pooling alone cannot.
"""

import math

import torch
from torch import nn
from torch.utils.data import TensorDataset

from asyncnni.nas import InputChoice, LayerChoice

SIDE = 12
CLASSES = 4
CHANNELS = 12
CELLS = 3


def make_data(n: int, seed: int) -> TensorDataset:
    """``n`` labelled images (3 x SIDE x SIDE); the same ones for the same seed."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(CLASSES, (n,), generator=generator)
    colours = torch.tensor([[0.6, -0.3, 0.0], [-0.3, 0.6, 0.0]])[labels % 2]
    rows = torch.arange(SIDE).view(1, SIDE, 1)
    columns = torch.arange(SIDE).view(1, 1, SIDE)
    across = torch.where((labels // 2).view(n, 1, 1) == 0, rows, columns)
    phase = torch.randint(4, (n, 1, 1), generator=generator)  # stripes start anywhere
    stripes = torch.sin((across + phase) * (2 * math.pi / 4))
    images = colours.view(n, 3, 1, 1) + 0.8 * stripes.unsqueeze(1)
    noise = 1.2 * torch.randn(images.shape, generator=generator)
    return TensorDataset(images + noise, labels)


def conv(kernel: int, dilation: int = 1) -> nn.Module:
    padding = dilation * (kernel - 1) // 2
    return nn.Sequential(
        nn.ReLU(),
        nn.Conv2d(CHANNELS, CHANNELS, kernel, padding=padding, dilation=dilation, bias=False),
        nn.BatchNorm2d(CHANNELS),
    )


class Cell(nn.Module):
    def __init__(self, index: int) -> None:
        super().__init__()
        self.op = LayerChoice(
            {
                "conv3x3": conv(3),
                "conv5x5": conv(5),
                "dilconv3x3": conv(3, dilation=2),
                "maxpool3x3": nn.MaxPool2d(3, stride=1, padding=1),
                "avgpool3x3": nn.AvgPool2d(3, stride=1, padding=1),
            },
            key=f"cell{index}.op",
        )
        earlier = ["stem"] + [f"cell{j}" for j in range(index)]
        self.skip = InputChoice(earlier, n_chosen=1, key=f"cell{index}.skip")

    def forward(self, outputs: list[torch.Tensor]) -> torch.Tensor:
        return self.op(outputs[-1]) + self.skip(outputs)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, CHANNELS, 3, padding=1, bias=False), nn.BatchNorm2d(CHANNELS)
        )
        self.cells = nn.ModuleList([Cell(i) for i in range(CELLS)])
        self.head = nn.Linear(CHANNELS, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [self.stem(x)]
        for cell in self.cells:
            outputs.append(cell(outputs))
        return self.head(outputs[-1].relu().mean(dim=(2, 3)))


def build_model() -> nn.Module:
    """The supernet; ``asyncnni ss-gen --model space.py:build_model`` lists its choices."""
    return Net()
