"""Where an experiment's records live: the :class:`Store` interface (typed records in, one
place that commits) and its embedded SQLite implementation.

``open_store(folder)`` is the writer of a run; ``open_reader(folder)`` a read-only view that
is safe beside a running writer (``list``, ``export``, the dashboard)."""

from __future__ import annotations

from pathlib import Path

from .base import Store, StoreReader
from .records import Event, ExperimentRecord, JobEnd, JobStart, Metric, ParameterSet, StoredJob
from .sqlite import (
    DB_NAME,
    SCHEMA_VERSION,
    SchemaError,
    SQLiteReader,
    SQLiteStore,
    find_experiments,
)

__all__ = [
    "DB_NAME",
    "SCHEMA_VERSION",
    "Event",
    "ExperimentRecord",
    "JobEnd",
    "JobStart",
    "Metric",
    "ParameterSet",
    "SchemaError",
    "Store",
    "StoreReader",
    "StoredJob",
    "exists",
    "find_experiments",
    "open_reader",
    "open_store",
]


def open_store(folder: Path) -> Store:
    """The writer of the experiment in ``folder`` (made when missing)."""
    return SQLiteStore(folder)


def open_reader(folder: Path) -> StoreReader:
    """A read-only view of an existing experiment; raises LookupError when there is none,
    SchemaError when a newer asyncnni wrote it."""
    return SQLiteReader(folder)


def exists(folder: Path) -> bool:
    """Whether ``folder`` holds an experiment store."""
    return (folder / DB_NAME).is_file()
