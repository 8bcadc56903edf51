"""Weight-sharing trial: start from the parent's weights, train briefly, save, then report.

The tuner (../../tuners/weight_sharing) sends the network's shape (``layers``, ``width``,
``activation``), the learning rate, and two folders on the shared storage: ``restore_dir``,
where the parent saved its weights (None for a configuration without parent), and
``save_dir``, where this trial saves its own.

Layers are named the same in every network (``hidden0``, ``hidden1``, ..., ``out``), so a
child loads every tensor of its parent's state_dict whose name and shape it shares, and
starts the rest from random weights. The checkpoint is saved atomically (a temporary file,
flushed and fsynced, then renamed) *before* the result is reported: the tuner wakes a child
only after its parent's result, so by then the parent's file is complete.

Standalone: ``python model.py --params '{"save_dir": "/tmp/ws/p0"}'``.
"""

import os
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

import asyncnni

FEATURES, CLASSES = 16, 4
STEPS = 100
CHECKPOINT = "model.pt"

torch.set_num_threads(1)  # four trials share a small machine

params = {"layers": 2, "width": 32, "activation": "relu", "lr": 0.05, "restore_dir": None}
params.update(asyncnni.get_next_parameter() or {})
torch.manual_seed(asyncnni.get_sequence_id())

# 4 classes in 16 dimensions, labelled by a random two-layer "teacher" network (seeded)
generator = torch.Generator().manual_seed(5)
teacher = (
    torch.randn(FEATURES, 32, generator=generator),
    torch.randn(32, CLASSES, generator=generator),
)
inputs = torch.randn(2000, FEATURES, generator=generator)
labels = (torch.tanh(inputs @ teacher[0]) @ teacher[1]).argmax(dim=1)
train_x, test_x, train_y, test_y = inputs[:1600], inputs[1600:], labels[:1600], labels[1600:]


def build(layers: int, width: int, activation: str) -> nn.Sequential:
    act = {"relu": nn.ReLU, "tanh": nn.Tanh}[activation]
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    for i in range(layers):
        modules[f"hidden{i}"] = nn.Linear(FEATURES if i == 0 else width, width)
        modules[f"act{i}"] = act()
    modules["out"] = nn.Linear(width, CLASSES)
    return nn.Sequential(modules)


def inherit(model: nn.Module, restore_dir: str) -> list[str]:
    """Load the parent's tensors that fit this model; the names of those loaded."""
    parent = torch.load(Path(restore_dir) / CHECKPOINT, weights_only=True)  # must exist
    own = model.state_dict()
    shared = {name: t for name, t in parent.items() if name in own and own[name].shape == t.shape}
    model.load_state_dict(shared, strict=False)
    return sorted(shared)


def save_atomically(model: nn.Module, save_dir: str) -> None:
    folder = Path(save_dir)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{CHECKPOINT}.tmp"
    with tmp.open("wb") as f:
        torch.save(model.state_dict(), f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / CHECKPOINT)  # readers see the old file or the whole new one


model = build(params["layers"], params["width"], params["activation"])
inherited = inherit(model, params["restore_dir"]) if params["restore_dir"] else []
print(f"{params}: inherited {inherited}", flush=True)

optimizer = torch.optim.SGD(model.parameters(), lr=params["lr"], momentum=0.9)
loss_fn = nn.CrossEntropyLoss()
for _step in range(STEPS):
    batch = torch.randint(len(train_x), (64,))
    optimizer.zero_grad()
    loss_fn(model(train_x[batch]), train_y[batch]).backward()
    optimizer.step()
with torch.no_grad():
    accuracy = (model(test_x).argmax(dim=1) == test_y).float().mean().item()

save_atomically(model, params["save_dir"])
asyncnni.report_final_result({"default": accuracy, "inherited": len(inherited)})
