"""Quickstart trial: a small PyTorch classifier whose hyperparameters asyncnni tunes.

This mirrors NNI's PyTorch HPO quickstart, with one change: instead of downloading
FashionMNIST, it makes a small MNIST-like data set (10 classes of 16x16 images: each class
a few blurry strokes, drawn shifted and noisy) from a fixed seed, so every trial sees the same
data and nothing is downloaded.

Run it inside an experiment (``asyncnni run exp.yaml``) or on its own to debug it:
``python model.py`` (defaults) or ``python model.py --params '{"lr": 0.01}'``.
"""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import asyncnni

# Hyperparameters to tune; the tuner's choice replaces these defaults. A multi-fidelity
# tuner (Hyperband, BOHB, ASHA) adds TRIAL_BUDGET: the epochs to train this configuration.
params = {
    "features": 512,
    "lr": 0.001,
    "momentum": 0,
    "TRIAL_BUDGET": 5,
}
optimized_params = asyncnni.get_next_parameter()
params.update(optimized_params)
print(params)

# Two trials run at once on a small machine: one thread each keeps them from fighting.
torch.set_num_threads(1)
torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"

SIDE = 16
CLASSES = 10
EPOCHS = params["TRIAL_BUDGET"]
BATCH_SIZE = 32


def make_images(n: int, prototypes: torch.Tensor, generator: torch.Generator):
    """n noisy copies of the class prototypes, each shifted by up to two pixels."""
    labels = torch.randint(CLASSES, (n,), generator=generator)
    shifts = torch.randint(-2, 3, (n, 2), generator=generator)
    images = torch.stack(
        [
            torch.roll(prototypes[c], tuple(s.tolist()), dims=(0, 1))
            for c, s in zip(labels, shifts, strict=True)
        ]
    )
    images = images + 0.5 * torch.randn(images.shape, generator=generator)
    return images.unsqueeze(1), labels


def make_prototypes(generator: torch.Generator) -> torch.Tensor:
    """One 16x16 pattern per class: three Gaussian blobs at random places."""
    grid = torch.arange(SIDE, dtype=torch.float32)
    ys, xs = torch.meshgrid(grid, grid, indexing="ij")
    centres = torch.rand(CLASSES, 3, 2, generator=generator) * (SIDE - 4) + 2
    dy = ys - centres[..., 0, None, None]
    dx = xs - centres[..., 1, None, None]
    return torch.exp(-(dx**2 + dy**2) / 4.0).sum(dim=1)


data_generator = torch.Generator().manual_seed(2024)
prototypes = make_prototypes(data_generator)
training_data = TensorDataset(*make_images(2000, prototypes, data_generator))
test_data = TensorDataset(*make_images(500, prototypes, data_generator))
train_dataloader = DataLoader(training_data, batch_size=BATCH_SIZE, shuffle=True)
test_dataloader = DataLoader(test_data, batch_size=BATCH_SIZE)


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(SIDE * SIDE, params["features"]),
            nn.ReLU(),
            nn.Linear(params["features"], params["features"]),
            nn.ReLU(),
            nn.Linear(params["features"], CLASSES),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


model = NeuralNetwork().to(device)
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=params["lr"], momentum=params["momentum"])


def train(dataloader, model, loss_fn, optimizer):
    model.train()
    for X, y in dataloader:
        X, y = X.to(device), y.to(device)
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def test(dataloader, model):
    model.eval()
    correct = 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            correct += (model(X).argmax(1) == y).sum().item()
    return correct / len(dataloader.dataset)


for _epoch in range(EPOCHS):
    train(train_dataloader, model, loss_fn, optimizer)
    accuracy = test(test_dataloader, model)
    asyncnni.report_intermediate_result(accuracy)
asyncnni.report_final_result(accuracy)
