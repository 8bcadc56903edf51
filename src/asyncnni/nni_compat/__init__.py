"""``import nni`` for NNI code run by asyncnni: trial code, tuners and assessors written for NNI.

The ``nni`` package here (in the ``path`` folder, which is not itself a package) maps NNI's
names onto asyncnni. :func:`activate` puts that folder on the import path of asyncnni's own
runs only (the experiment process, where tuners and assessors load, and through
``PYTHONPATH`` the trial processes it starts), and only when no real NNI is importable: a
user who also has NNI installed keeps it, and nothing outside an asyncnni run sees this one.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

PATH = Path(__file__).resolve().parent / "path"
"""The folder holding asyncnni's ``nni`` package."""


def real_nni_installed() -> bool:
    """True when ``import nni`` finds an NNI that is not asyncnni's."""
    try:
        spec = importlib.util.find_spec("nni")
    except (ImportError, ValueError):  # a broken or spec-less module named nni: not ours
        return True
    if spec is None:
        return False
    return spec.origin is None or not Path(spec.origin).resolve().is_relative_to(PATH)


def activate() -> bool:
    """Make ``import nni`` reach asyncnni in this process and in the processes it starts,
    unless a real NNI is installed. True when asyncnni's ``nni`` is the one in use now.
    Calling it again changes nothing."""
    folder = str(PATH)
    if folder not in sys.path:
        if real_nni_installed():
            return False
        sys.path.append(folder)  # last: whatever the user put on the path comes first
    entries = [e for e in os.environ.get("PYTHONPATH", "").split(os.pathsep) if e]
    if folder not in entries:
        os.environ["PYTHONPATH"] = os.pathsep.join([*entries, folder])
    return True
