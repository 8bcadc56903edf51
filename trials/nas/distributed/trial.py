"""A classic NAS trial of an SPOS search: evaluate one architecture with the supernet's weights.

The tuner (NASEvolution) hands out an architecture of space.py. The supernet lives in the
shared folder (``$ASYNCNNI_SHARED_DIR``): the first trial trains it, single path at a time
(SPOS), while the others wait on a file lock; from then on every trial only loads it,
re-estimates the batch-norm statistics of its own path and reports validation accuracy.

Run it on its own to debug: ``python trial.py`` (first candidates everywhere) or
``python trial.py --params '{"cell0.op": {"_idx": 1}, ...}'`` (every key needed).
"""

import fcntl
import hashlib
import os
import sys
import tempfile
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

import asyncnni
from asyncnni.nas import RandomMutator, Trainer, apply_fixed_architecture, search_space

sys.path.insert(
    0, str(Path(__file__).resolve().parent.parent)
)  # space.py, shared with the one-shot examples
from space import build_model, make_data  # noqa: E402

SUPERNET_EPOCHS = 6
torch.set_num_threads(1)  # two trials share two cores


def fingerprint(model: nn.Module) -> str:
    """Names and shapes of the weights: a changed model never loads a stale supernet."""
    shapes = [(name, tuple(t.shape)) for name, t in model.state_dict().items()]
    return hashlib.sha1(repr(shapes).encode()).hexdigest()[:12]


def train_supernet(path: Path) -> None:
    torch.manual_seed(0)
    supernet = build_model()
    optimizer = torch.optim.SGD(supernet.parameters(), lr=0.05, momentum=0.9, weight_decay=3e-4)
    trainer = Trainer(
        supernet,
        RandomMutator(supernet, seed=0),
        nn.CrossEntropyLoss(),
        optimizer,
        SUPERNET_EPOCHS,
        make_data(1024, seed=1),
        make_data(256, seed=2),
        batch_size=64,
    )
    print("training the supernet:", trainer.train()[-1])
    partial = path.with_suffix(".partial")
    torch.save(supernet.state_dict(), partial)
    os.replace(partial, path)  # readers never see half a file


def recalibrate_batch_norm(model: nn.Module, batches: int = 8) -> None:
    """SPOS: batch-norm statistics gathered over all paths do not fit this one; redo them."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # a plain average over the batches below
    model.train()
    loader = DataLoader(make_data(64 * batches, seed=3), batch_size=64)
    with torch.no_grad():
        for x, _ in loader:
            model(x)


def accuracy(model: nn.Module) -> float:
    model.eval()
    x, y = make_data(512, seed=2).tensors
    with torch.no_grad():
        return (model(x).argmax(dim=1) == y).float().mean().item()


params = asyncnni.get_next_parameter()
if params is None:  # the tuner has nothing more to try
    sys.exit(0)
model = build_model()
if not params:  # run on its own without --params: the first candidate of every choice
    params = {
        key: {"_idx": 0 if choice["_type"] == "layer_choice" else [0]}
        for key, choice in search_space(model).items()
    }
apply_fixed_architecture(model, params)

shared = Path(os.environ.get("ASYNCNNI_SHARED_DIR") or Path(tempfile.gettempdir()) / "asyncnni-nas")
shared.mkdir(parents=True, exist_ok=True)
supernet = shared / f"supernet-{fingerprint(model)}.pt"
with open(shared / "supernet.lock", "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)  # one trial trains; the others wait here, then load
    if not supernet.exists():
        train_supernet(supernet)
model.load_state_dict(torch.load(supernet, weights_only=True))
recalibrate_batch_norm(model)
asyncnni.report_final_result(accuracy(model))
