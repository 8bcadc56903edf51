"""Algorithms a user registered under a name of their own (``asyncnni algo register``, NNI's
customized built-in tuners and assessors): once registered, ``tuner: {name: mytuner}``
finds it like a built-in one.

The registry is one YAML file, ``registered_algorithms.yml`` in ``$ASYNCNNI_HOME`` when that
is set, else in ``~/.config/asyncnni``: ``{"tuners": [...], "assessors": [...]}``, each entry
NNI's meta keys ``builtinName``, ``className`` (``package.module.Class``, importable where the
experiment runs) and optionally ``classArgsValidator`` (a class whose
``validate_class_args(**class_args)`` raises on bad arguments).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML, YAMLError

from .errors import ConfigError, PluginError

REGISTRY_FILE = "registered_algorithms.yml"
KINDS = {
    "tuner": "tuners",
    "assessor": "assessors",
    "advisor": "tuners",
}  # advisors are tuners here
_META_KEYS = ("algoType", "builtinName", "className", "classArgsValidator")


def registry_path() -> Path:
    home = os.environ.get("ASYNCNNI_HOME")
    folder = Path(home).expanduser() if home else Path.home() / ".config" / "asyncnni"
    return folder / REGISTRY_FILE


def _load() -> dict[str, list[dict]]:
    path = registry_path()
    if not path.is_file():
        return {"tuners": [], "assessors": []}
    try:
        data = YAML(typ="safe").load(path.read_text()) or {}
    except YAMLError as err:
        raise PluginError(f"{path}: not a registry of algorithms: {err}") from None
    return {section: list(data.get(section) or []) for section in ("tuners", "assessors")}


def _save(data: dict[str, list[dict]]) -> None:
    path = registry_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("w") as out:
        YAML().dump(data, out)
    os.replace(partial, path)


def entries(kind: str) -> list[dict]:
    """The registered algorithms of ``kind`` ("tuner" or "assessor")."""
    return _load()[KINDS[kind]]


def _find(kind: str, name: str) -> dict | None:
    return next(
        (e for e in entries(kind) if str(e["builtinName"]).lower() == str(name).lower()), None
    )


def names(kind: str) -> list[str]:
    return [str(e["builtinName"]).lower() for e in entries(kind)]


def target(kind: str, name: str) -> str | None:
    """``module:Class`` of a registered algorithm, as the built-in registry spells it."""
    entry = _find(kind, name)
    if entry is None:
        return None
    module, _, cls = str(entry["className"]).rpartition(".")
    return f"{module}:{cls}"


def _import(dotted: str, what: str) -> type:
    module_name, _, attr = dotted.rpartition(".")
    if not module_name:
        raise PluginError(f"{what} {dotted!r}: give a dotted path package.module.Class")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise PluginError(
            f"{what} {dotted!r}: cannot import {module_name} ({err}); install its package "
            "where experiments run (pip install ...)"
        ) from None
    cls = getattr(module, attr, None)
    if not isinstance(cls, type):
        raise PluginError(f"{what} {dotted!r}: no class {attr!r} in {module_name}")
    return cls


def validate(kind: str, name: str, class_args: dict[str, Any]) -> None:
    """Run a registered algorithm's classArgsValidator on ``class_args``, if it has one."""
    entry = _find(kind, name)
    if entry is None or not entry.get("classArgsValidator"):
        return
    validator = _import(entry["classArgsValidator"], "classArgsValidator")
    try:
        validator().validate_class_args(**class_args)
    except Exception as err:
        raise PluginError(f"{kind} {name}: bad class_args {class_args!r}: {err}") from None


def register(meta_file: Path, builtin_names: dict[str, list[str]]) -> dict:
    """Register the algorithm a meta file (NNI's format) describes; returns its entry.
    ``builtin_names`` maps each kind to the names it may not take."""
    try:
        meta = YAML(typ="safe").load(meta_file.read_text())
    except OSError as err:
        raise ConfigError(f"{meta_file}: {err.strerror}") from None
    except YAMLError as err:
        raise ConfigError(f"{meta_file}: not YAML: {err}") from None
    if not isinstance(meta, dict):
        raise ConfigError(f"{meta_file}: must be a map with keys {', '.join(_META_KEYS)}")
    unknown = sorted(set(meta) - set(_META_KEYS))
    if unknown:
        raise ConfigError(f"{meta_file}: unknown keys {unknown}; known: {', '.join(_META_KEYS)}")
    for key in ("algoType", "builtinName", "className"):
        if not isinstance(meta.get(key), str) or not meta[key]:
            raise ConfigError(f"{meta_file}: {key}: required (a string)")
    kind = meta["algoType"].lower()
    if kind not in KINDS:
        raise ConfigError(f"{meta_file}: algoType must be tuner, assessor or advisor, not {kind!r}")
    name = meta["builtinName"]
    kind = "assessor" if kind == "assessor" else "tuner"
    if name.lower() in builtin_names[kind]:
        raise ConfigError(f"{meta_file}: builtinName {name!r} is a built-in {kind}'s name")
    if _find(kind, name) is not None:
        raise ConfigError(
            f"{kind} {name!r} is registered already; `asyncnni algo unregister {name}` first"
        )
    _import(meta["className"], "className")
    entry = {"builtinName": name, "className": meta["className"]}
    if meta.get("classArgsValidator"):
        _import(meta["classArgsValidator"], "classArgsValidator")
        entry["classArgsValidator"] = meta["classArgsValidator"]
    data = _load()
    data[KINDS[kind]].append(entry)
    _save(data)
    return {"algoType": kind, **entry}


def unregister(name: str) -> None:
    data = _load()
    for section in data.values():
        for entry in section:
            if str(entry["builtinName"]).lower() == name.lower():
                section.remove(entry)
                _save(data)
                return
    raise ConfigError(f"no registered algorithm {name!r} (see `asyncnni algo list`)")
