"""The ``bench`` command: one typer function behind both ``asyncnni bench`` and
``benchmarks/dispatcher_throughput.py``.

Only typer is imported at the top: the CLI registers this command on every start, and the
dispatcher, numpy and the rest load when the benchmark actually runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise typer.BadParameter(f"expected comma-separated integers, got {text!r}") from None


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def bench(
    workers: Annotated[str, typer.Option(help="Worker counts, comma-separated.")] = "1,4,16,64",
    messages: Annotated[
        int, typer.Option(help="Messages per scenario and worker count, split between workers.")
    ] = 20_000,
    transport: Annotated[str, typer.Option(help="ipc or tcp.")] = "ipc",
    scenarios: Annotated[
        str,
        typer.Option(
            help="a: reports stored+ACKed, b: NEW_TRIAL serial, c: NEW_TRIAL async, "
            "d: async with parent waits."
        ),
    ] = "a,b,c,d",
    raw: Annotated[
        bool, typer.Option("--raw", help="Also measure bare pyzmq + msgpack (the limit).")
    ] = False,
    idle: Annotated[
        int, typer.Option(help="Connect this many idle workers and time one active client.")
    ] = 0,
    window: Annotated[int, typer.Option(help="Reports in flight per client (scenario a).")] = 64,
    repeat: Annotated[
        int, typer.Option(help="Runs of each measurement; the best is reported, with the spread.")
    ] = 1,
    plot_file: Annotated[
        Path | None,
        typer.Option("--plot", help="Draw throughput and latency against workers (matplotlib)."),
    ] = None,
) -> None:
    """Dispatcher throughput: client processes speak the wire protocol to a real dispatcher
    and store in this process. One JSON line per run on stdout, a table on stderr."""
    import anyio

    from .clients import BenchmarkError
    from .output import plot, print_table
    from .report import emit
    from .runner import BenchOptions, run_until_terminated

    try:
        options = BenchOptions(
            workers=_ints(workers),
            messages=messages,
            transport=transport,
            scenarios=_names(scenarios),
            raw=raw,
            idle=idle,
            window=window,
            repeat=repeat,
        )
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    records: list[dict[str, Any]] = []

    def report(record: dict[str, Any]) -> None:
        records.append(record)
        emit(record)

    try:
        anyio.run(run_until_terminated, options, report)
    except BenchmarkError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("interrupted; every client process was stopped", err=True)
        raise typer.Exit(130) from None
    finally:
        if records:
            print_table(records)
    if plot_file is not None and records:
        try:
            plot(records, plot_file)
        except RuntimeError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"plot written to {plot_file}", err=True)
