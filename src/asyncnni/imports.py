"""Results imported into an experiment (``asyncnni experiment import``, NNI's format):
``[{"parameter": {...}, "value": 0.93}, ...]``, a value being a number or a map with a
number under ``"default"``.

They are kept in ``imported_data.json`` in the experiment folder, so every later run of the
experiment (``asyncnni resume``) hands them to the tuner's ``import_data`` again, after the
results of its store; a running experiment gets them at once over its control channel.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from .errors import ConfigError

IMPORT_FILE = "imported_data.json"


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def checked(data: Any, source: str) -> list[dict]:
    """``data`` as import records, or a ConfigError naming ``source`` and the item."""
    if not isinstance(data, list):
        raise ConfigError(f"{source}: must be a list of {{'parameter': ..., 'value': ...}}")
    records = []
    for index, item in enumerate(data):
        where = f"{source}: item {index}"
        if not isinstance(item, dict) or not isinstance(item.get("parameter"), dict):
            raise ConfigError(f"{where}: needs 'parameter', a map of parameter names to values")
        value = item.get("value")
        if not (_finite(value) or (isinstance(value, dict) and _finite(value.get("default")))):
            raise ConfigError(
                f"{where}: 'value' must be a finite number or a map with one under 'default'"
            )
        records.append({"parameter": item["parameter"], "value": value})
    return records


def read_file(path: Path) -> list[dict]:
    """The records of an import file (JSON); ConfigError naming the file otherwise."""
    try:
        data = json.loads(path.read_text())
    except OSError as err:
        raise ConfigError(f"{path}: {err.strerror}") from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}:{err.lineno}:{err.colno}: not JSON: {err.msg}") from None
    return checked(data, str(path))


def stored(folder: Path) -> list[dict]:
    """What was imported into the experiment in ``folder`` so far."""
    path = folder / IMPORT_FILE
    return json.loads(path.read_text()) if path.is_file() else []


def store(folder: Path, records: list[dict]) -> None:
    """Add ``records`` to the experiment's imported results (written whole, then renamed:
    a crash leaves the old file or the new one)."""
    path = folder / IMPORT_FILE
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(stored(folder) + records))
    os.replace(partial, path)
