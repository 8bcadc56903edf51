"""One-shot search of space.py with DARTS: ``python darts_search.py [--epochs N] [--output arch.json]``.

Architecture weights and model weights are trained in turn (first-order DARTS); the
strongest candidate of each choice is the result, printed as JSON that
``asyncnni.nas.apply_fixed_architecture`` takes back.
"""

import argparse
import json
import logging

import torch
from space import build_model, make_data
from torch import nn

from asyncnni.nas import DartsTrainer

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=4)
parser.add_argument("--output", help="write the architecture here too")
args = parser.parse_args()

logging.basicConfig(level=logging.INFO, format="%(message)s")
torch.set_num_threads(2)
torch.manual_seed(0)

model = build_model()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=3e-4)
trainer = DartsTrainer(
    model,
    nn.CrossEntropyLoss(),
    optimizer,
    args.epochs,
    dataset_train=make_data(1024, seed=1),
    dataset_valid=make_data(256, seed=2),
    batch_size=64,
    arch_lr=3e-3,
    log_frequency=4,
)
history = trainer.train()
architecture = trainer.export(args.output)
print(json.dumps({"final": history[-1], "architecture": architecture}))
