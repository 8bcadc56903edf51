"""Loading tuners and assessors: built-in ones by name, a user's by file or dotted path."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from . import algorithms
from .errors import PluginError


class Registry:
    """Maps case-insensitive names (and aliases) to ``module:Class`` of built-in plug-ins.

    Modules are imported only when their class is asked for, so an unused tuner's
    dependencies cost nothing.
    """

    def __init__(
        self, kind: str, entries: dict[str, str], unavailable: dict[str, str] | None = None
    ) -> None:
        self.kind = kind
        self._entries = {name.lower(): target for name, target in entries.items()}
        self._unavailable = {name.lower(): why for name, why in (unavailable or {}).items()}

    def names(self) -> list[str]:
        """Built-in names and the user's registered ones (``asyncnni algo register``)."""
        return sorted({*self._entries, *algorithms.names(self.kind)})

    def builtin_names(self) -> list[str]:
        return sorted(self._entries)

    def unavailable(self, name: str) -> str | None:
        """Why a name NNI knows cannot be had here, or None."""
        return self._unavailable.get(str(name).lower())

    def get(self, name: str) -> type:
        target = self._entries.get(str(name).lower()) or algorithms.target(self.kind, name)
        if target is None:
            why = self.unavailable(name)
            if why is not None:
                raise PluginError(f"{self.kind} {name!r} is not available: {why}")
            known = ", ".join(self.names())
            raise PluginError(f"unknown {self.kind} {name!r}; built-in {self.kind}s: {known}")
        module_name, class_name = target.split(":")
        return getattr(importlib.import_module(module_name), class_name)

    def create(self, name: str, **class_args: Any) -> Any:
        cls = self.get(name)
        algorithms.validate(self.kind, name, class_args)
        return construct(cls, class_args, f"{self.kind} {name}")


def construct(cls: type, class_args: dict[str, Any], what: str) -> Any:
    """``cls(**class_args)``, with a bad argument reported as a PluginError naming ``what``."""
    try:
        return cls(**class_args)
    except TypeError as err:
        raise PluginError(f"{what}: bad class_args {class_args!r}: {err}") from err
    except ValueError as err:
        raise PluginError(f"{what}: {err}") from err
    except Exception as err:  # the user's constructor failed: say whose, without a traceback
        raise PluginError(f"{what}: constructing it failed: {type(err).__name__}: {err}") from err


def load_class(
    class_name: str,
    *,
    code_directory: str | Path | None = None,
    class_file_name: str | None = None,
) -> type:
    """A user's class, NNI-style (``code_directory`` + ``class_file_name`` + ``class_name``)
    or by dotted path (``class_name: pkg.module.Class``, with ``code_directory`` on sys.path).
    Code written for NNI may ``import nni`` in an experiment (see :mod:`asyncnni.nni_compat`)."""
    if code_directory is not None:
        directory = Path(code_directory).resolve()
        if not directory.is_dir():
            raise PluginError(f"code_directory {str(directory)!r} is not a folder")
        if str(directory) not in sys.path:
            sys.path.insert(0, str(directory))
    if class_file_name is not None:
        if code_directory is None:
            raise PluginError("class_file_name needs code_directory")
        path = directory / class_file_name
        if not path.is_file():
            raise PluginError(f"class_file_name: no file {str(path)!r}")
        module_name = f"_asyncnni_user_{path.stem}_{abs(hash(str(path)))}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as err:
            del sys.modules[module_name]
            raise PluginError(f"importing {path} failed: {type(err).__name__}: {err}") from err
        attr = class_name
    else:
        module_path, _, attr = class_name.rpartition(".")
        if not module_path:
            raise PluginError(
                f"class_name {class_name!r}: give class_file_name too, or a dotted path pkg.module.Class"
            )
        try:
            module = importlib.import_module(module_path)
        except ImportError as err:
            raise PluginError(
                f"class_name {class_name!r}: cannot import {module_path}: {err}"
            ) from err
    cls = getattr(module, attr, None)
    if not isinstance(cls, type):
        raise PluginError(f"class_name {class_name!r}: no class {attr!r} in {module.__name__}")
    return cls
