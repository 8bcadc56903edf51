"""Test trial for weight sharing: checks the checkpoint it inherits, then writes its own.

A checkpoint is ``payload + sha256(payload)``, so a missing, truncated or half-written file
is told apart from a complete one. What it found is written to
``$ASYNCNNI_TRIAL_DIR/restore.json`` (the test asserts on those records). Its own checkpoint
is written in chunks to a temporary file, flushed, fsynced and renamed into place, and only
then is the result reported.
"""

import hashlib
import json
import os
import sys
import threading
from pathlib import Path

import asyncnni

CHECKPOINT = "checkpoint.bin"
CHUNK = 64 * 1024
DIGEST = hashlib.sha256().digest_size


def inspect(folder: Path) -> str:
    """ok, missing or incomplete."""
    try:
        data = (folder / CHECKPOINT).read_bytes()
    except FileNotFoundError:
        return "missing"
    payload, digest = data[:-DIGEST], data[-DIGEST:]
    return "ok" if payload and hashlib.sha256(payload).digest() == digest else "incomplete"


def save(folder: Path, payload: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{CHECKPOINT}.tmp"
    with tmp.open("wb") as f:
        for start in range(0, len(payload), CHUNK):
            f.write(payload[start : start + CHUNK])
            f.flush()
        f.write(hashlib.sha256(payload).digest())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / CHECKPOINT)


trial_dir = Path(os.environ["ASYNCNNI_TRIAL_DIR"])
(trial_dir / "pid").write_text(str(os.getpid()))  # before asking: a job that waits has one too
params = asyncnni.get_next_parameter()
if params is None:  # the experiment stopped while this job waited for its configuration
    sys.exit(0)
restore_dir = params["restore_dir"]
found = None if restore_dir is None else inspect(Path(restore_dir))
(trial_dir / "restore.json").write_text(
    json.dumps({"x": params["x"], "restore_dir": restore_dir, "found": found})
)
if params["hang"]:
    threading.Event().wait()  # a parent that never finishes: only a stop ends it
if params["crash"]:
    sys.exit(3)
save(Path(params["save_dir"]), os.urandom(4 * CHUNK))
asyncnni.report_final_result(params["x"])
