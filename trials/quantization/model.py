"""Quantization trial: one small model, trained phase by phase at the bit width the tuner picks.

Before each phase the trial asks for a configuration (``multi_phase: true``): ``bits`` is
the width the weights are quantized to in that phase (32 keeps them in float), ``hidden``
and ``lr`` stay the same for the whole job. The phase trains a few epochs with the weights
snapped to that width after every step (quantization-aware training, the simple way), then
reports the test accuracy of the quantized model. The data set is synthetic and seeded:
4 classes in 20 dimensions, labelled by a random two-layer "teacher" network.

Run it on its own to debug it: ``python model.py --params '{"bits": 8}'``.
"""

import torch
from torch import nn

import asyncnni

PHASES = 6
EPOCHS_PER_PHASE = 3
BATCH_SIZE = 64

torch.set_num_threads(1)  # trials run side by side on a small machine
torch.manual_seed(0)

generator = torch.Generator().manual_seed(11)
teacher = (torch.randn(20, 32, generator=generator), torch.randn(32, 4, generator=generator))
inputs = torch.randn(3000, 20, generator=generator)
labels = (torch.tanh(inputs @ teacher[0]) @ teacher[1]).argmax(dim=1)
train_x, test_x = inputs[:2400], inputs[2400:]
train_y, test_y = labels[:2400], labels[2400:]


def quantize_(model: nn.Module, bits: int) -> None:
    """Snap every weight to ``bits``-bit symmetric uniform levels, in place (32: keep float)."""
    if bits >= 32:
        return
    levels = 2 ** (bits - 1) - 1
    with torch.no_grad():
        for weight in model.parameters():
            scale = weight.abs().max().clamp(min=1e-8) / levels
            weight.copy_(torch.round(weight / scale) * scale)


def accuracy(model: nn.Module) -> float:
    with torch.no_grad():
        return (model(test_x).argmax(dim=1) == test_y).float().mean().item()


model = None
for _phase in range(PHASES):
    params = {"bits": 32, "hidden": 64, "lr": 0.05}
    suggested = asyncnni.get_next_parameter()
    if suggested is None:
        break
    params.update(suggested)
    if model is None:  # the first phase builds the model; later phases go on training it
        model = nn.Sequential(
            nn.Linear(20, params["hidden"]), nn.ReLU(), nn.Linear(params["hidden"], 4)
        )
        optimizer = torch.optim.SGD(model.parameters(), lr=params["lr"], momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    for _epoch in range(EPOCHS_PER_PHASE):
        for start in range(0, len(train_x), BATCH_SIZE):
            x, y = train_x[start : start + BATCH_SIZE], train_y[start : start + BATCH_SIZE]
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
            quantize_(model, params["bits"])
    quantize_(model, params["bits"])
    score = accuracy(model)
    print(f"phase {_phase}: {params['bits']} bits -> accuracy {score:.3f}", flush=True)
    asyncnni.report_final_result({"default": score, "bits": params["bits"]})
