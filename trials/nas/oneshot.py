"""One-shot search of space.py: ``python oneshot.py --method darts|enas [--epochs N] [--output FILE]``.

- DARTS: architecture weights and model weights are trained in turn (first-order); the
  strongest candidate of each choice is the result.
- ENAS: an LSTM controller samples an architecture per batch while the shared weights
  train, then learns from the validation accuracy of its samples (REINFORCE); its most
  likely architecture is the result.

The architecture is printed as JSON (with the last epoch's figures), and written to
``--output``, which ``asyncnni.nas.apply_fixed_architecture(model, FILE)`` takes back.
"""

import argparse
import json
import logging

import torch
from space import build_model, make_data
from torch import nn

from asyncnni.nas import DartsTrainer, EnasTrainer

METHODS = {
    "darts": (DartsTrainer, {"arch_lr": 3e-3}),
    "enas": (EnasTrainer, {"ctrl_steps": 20}),
}

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--method", choices=sorted(METHODS), default="darts")
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--samples", type=int, default=1024, help="training images")
parser.add_argument("--output", help="write the architecture here too")
args = parser.parse_args()

logging.basicConfig(level=logging.INFO, format="%(message)s")
torch.set_num_threads(2)
torch.manual_seed(0)

model = build_model()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=3e-4)
trainer_class, method_args = METHODS[args.method]
trainer = trainer_class(
    model,
    nn.CrossEntropyLoss(),
    optimizer,
    args.epochs,
    dataset_train=make_data(args.samples, seed=1),
    dataset_valid=make_data(256, seed=2),
    batch_size=64,
    log_frequency=4,
    **method_args,
)
history = trainer.train()
architecture = trainer.export(args.output)
print(json.dumps({"final": history[-1], "architecture": architecture}))
