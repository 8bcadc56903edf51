"""``import nni`` for NNI code run by asyncnni: trial code, tuners and assessors written for NNI.

The ``nni`` package here (in the ``path`` folder, which is not itself a package) maps NNI's
names onto asyncnni. It reaches asyncnni's own runs only: the experiment puts the folder
on its process's ``sys.path`` once before its plug-ins load (:func:`activate`) and on each
trial job's ``PYTHONPATH`` (:func:`trial_env`), and only when no real NNI is importable: a
user who also has NNI installed keeps it, and nothing outside an asyncnni run sees this one.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping
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
    """Make ``import nni`` reach asyncnni's in this process, unless a real NNI is installed:
    the experiment calls it once, before its tuner and assessor load. True when asyncnni's
    ``nni`` is the one in use now. Calling it again changes nothing."""
    folder = str(PATH)
    if folder in sys.path:
        return True
    if real_nni_installed():
        return False
    sys.path.append(folder)  # last: whatever the user put on the path comes first
    return True


def trial_env(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """What a trial job's environment needs so that its ``import nni`` reaches asyncnni's:
    ``PYTHONPATH`` with the folder last, after ``environ``'s own entries. For runs where
    :func:`activate` said True."""
    entries = [e for e in environ.get("PYTHONPATH", "").split(os.pathsep) if e]
    if str(PATH) not in entries:
        entries.append(str(PATH))
    return {"PYTHONPATH": os.pathsep.join(entries)}
