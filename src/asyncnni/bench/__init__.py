"""Dispatcher throughput benchmark: ``asyncnni bench`` and ``benchmarks/dispatcher_throughput.py``.

Client processes (:mod:`.client`) speak the wire protocol to a real dispatcher and store in
the benchmark's process (:mod:`.scenarios`), or to a bare ROUTER for the raw baseline
(:mod:`.raw`). This package's import stays light: client processes import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer


def register_cli(app: typer.Typer) -> None:
    """Add ``asyncnni bench [options]`` to the command line ``app``."""
    from .command import bench

    app.command("bench")(bench)
