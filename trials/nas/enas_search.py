"""One-shot search of space.py with ENAS: ``python enas_search.py [--epochs N] [--output arch.json]``.

An LSTM controller samples an architecture per batch while the shared weights train, then
learns from the validation accuracy of its samples (REINFORCE). The controller's most
likely architecture is the result, printed as JSON that
``asyncnni.nas.apply_fixed_architecture`` takes back.
"""

import argparse
import json
import logging

import torch
from space import build_model, make_data
from torch import nn

from asyncnni.nas import EnasTrainer

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--output", help="write the architecture here too")
args = parser.parse_args()

logging.basicConfig(level=logging.INFO, format="%(message)s")
torch.set_num_threads(2)
torch.manual_seed(0)

model = build_model()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=3e-4)
trainer = EnasTrainer(
    model,
    nn.CrossEntropyLoss(),
    optimizer,
    args.epochs,
    dataset_train=make_data(1024, seed=1),
    dataset_valid=make_data(256, seed=2),
    batch_size=64,
    ctrl_steps=20,
    log_frequency=4,
)
history = trainer.train()
architecture = trainer.export(args.output)
print(json.dumps({"final": history[-1], "architecture": architecture}))
