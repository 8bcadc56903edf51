"""The ``asyncnni`` command line."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ._version import __version__
from .bench import register_cli as register_bench
from .errors import AsyncNNIError
from .manage_cli import register_cli as register_manage
from .nas.ssgen import register_cli as register_nas_cli

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Hyperparameter optimisation and NAS experiments.",
)
console = Console(stderr=True, soft_wrap=True)  # long paths and messages stay on one line


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        print(f"asyncnni {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """asyncnni: run `asyncnni run exp.yaml`."""


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="The experiment YAML.")],
    experiment_id: Annotated[
        str | None, typer.Option("--id", help="Experiment id (default: random).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
    port: Annotated[
        int | None, typer.Option(help="Serve the dashboard on this port while it runs.")
    ] = None,
    host: Annotated[str, typer.Option(help="The dashboard's address.")] = "127.0.0.1",
    detach: Annotated[
        bool,
        typer.Option(
            "--detach", "-d", help="Run in the background; print its id and how to reach it."
        ),
    ] = False,
) -> None:
    """Run an experiment to its end. Exit code 0 when it ran, 1 when it ended in error."""
    experiment = load_experiment(config, experiment_id)
    if detach:
        from .manage_cli import detached_run

        if port is not None:
            require_web()
        detached_run(experiment, config, port, host)
        return
    with _dashboard(experiment.folder, host, port):
        _run_to_end(experiment, quiet)


BLAS_THREADS = "OPENBLAS_NUM_THREADS"


def numpy_with_one_blas_thread() -> None:
    """Import numpy for this process, the experiment's, with one OpenBLAS thread unless the
    user chose a number: its arrays (search spaces, tuners) are small, and the worker thread
    OpenBLAS starts when it loads spins for a while after each call, on the cores the
    dispatcher and the trials need (at every start, 0.04 s of CPU and more of the wall on
    2 cores). OpenBLAS reads the variable once, as it loads; trials get the environment as
    it was."""
    chosen = BLAS_THREADS in os.environ
    if not chosen:
        os.environ[BLAS_THREADS] = "1"
    try:
        import numpy  # noqa: F401
    finally:
        if not chosen:
            del os.environ[BLAS_THREADS]


def load_experiment(config: Path, experiment_id: str | None):  # noqa: ANN201 - loads lazily
    """The experiment of a YAML file; a bad config fails here, before anything starts."""
    numpy_with_one_blas_thread()
    from .experiment import Experiment

    try:
        return Experiment.from_yaml(config, experiment_id=experiment_id)
    except AsyncNNIError as err:
        raise _fail(str(err)) from None


@contextlib.contextmanager
def _dashboard(folder: Path, host: str, port: int | None) -> Iterator[None]:
    """The dashboard as a child process while the experiment runs (its own interpreter, so
    it never competes with the dispatcher for the GIL); it ends with us."""
    if port is None:
        yield
        return
    require_web()
    child = subprocess.Popen(
        [sys.executable, "-m", "asyncnni.web", str(folder), host, str(port), str(os.getpid())]
    )
    try:
        yield
    finally:
        child.terminate()
        try:
            child.wait(5)
        except subprocess.TimeoutExpired:
            child.kill()


def require_web() -> None:
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise _fail("the dashboard needs the web extra: pip install 'asyncnni[web]'") from None


@app.command()
def view(
    experiment_id: Annotated[str, typer.Argument(help="The experiment id (see `asyncnni list`).")],
    port: Annotated[int, typer.Option(help="The dashboard's port (0: any free one).")] = 8080,
    host: Annotated[str, typer.Option(help="The dashboard's address.")] = "127.0.0.1",
    working_dir: Annotated[Path | None, typer.Option(help="Where experiments live.")] = None,
) -> None:
    """Serve the dashboard of a stored experiment, finished or still running (read-only)."""
    from .config import default_working_directory as working_directory

    require_web()
    from .web.server import serve

    folder = (working_dir or working_directory()) / experiment_id
    try:
        serve(folder, host, port)
    except (LookupError, OSError) as err:
        raise _fail(str(err)) from None
    except KeyboardInterrupt:
        pass


@app.command()
def resume(
    experiment_id: Annotated[str, typer.Argument(help="The experiment id (see `asyncnni list`).")],
    max_trial_number: Annotated[
        int | None, typer.Option(help="A new max_trial_number (e.g. to run more trials).")
    ] = None,
    max_experiment_duration: Annotated[
        str | None, typer.Option(help="A new max_experiment_duration (30s, 10m, 2h, 1d).")
    ] = None,
    working_dir: Annotated[Path | None, typer.Option(help="Where experiments live.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Go on with a stopped, finished or crashed experiment: ids and counts continue and the
    tuner is warm-started with every stored result."""
    from .config import parse_duration

    numpy_with_one_blas_thread()
    from .experiment import Experiment

    changes: dict = {}
    try:
        if max_trial_number is not None:
            changes["max_trial_number"] = max_trial_number
        if max_experiment_duration is not None:
            changes["max_experiment_duration"] = parse_duration(max_experiment_duration)
        experiment = Experiment.resume(experiment_id, working_dir, **changes)
    except (AsyncNNIError, LookupError, ValueError) as err:
        raise _fail(str(err)) from None
    _run_to_end(experiment, quiet)


def _run_to_end(experiment, quiet: bool) -> None:  # noqa: ANN001 - Experiment loads lazily
    from .progress import ProgressView

    def announce(started) -> None:  # noqa: ANN001 - once nothing can refuse the run any more
        console.print(f"experiment [bold]{started.id}[/] in {started.folder}", highlight=False)
        if started.address and started.address.startswith("tcp://"):
            console.print(f"dispatcher at {started.address}", highlight=False)

    experiment.on_start = announce
    view = ProgressView(experiment, console, live=not quiet)
    try:
        with view:
            result = experiment.run()
    except AsyncNNIError as err:
        raise _fail(str(err)) from None
    except KeyboardInterrupt:
        raise _fail("stopped at once; the store keeps what was reported", 130) from None
    global _ran_to_end
    _ran_to_end = True
    view.summary(result)
    if result.status == "ERROR":
        raise typer.Exit(1)


# Set once an experiment ran to its end in this process: its store, sockets, trials and log
# are closed, and tearing the interpreter's 600 modules down only costs time (0.1-0.5 s).
_ran_to_end = False


@app.command("list")
def list_experiments(
    working_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where experiments live (default $ASYNCNNI_HOME or ~/asyncnni-experiments)."
        ),
    ] = None,
) -> None:
    """List the experiments in the working directory."""
    from rich.table import Table

    from .catalog import experiments
    from .config import default_working_directory as working_directory

    folder = working_dir or working_directory()
    entries = experiments(folder)
    if not entries:
        console.print(f"no experiments in {folder}", highlight=False)
        return
    table = Table("id", "name", "status", "started", "trials", "best")
    for entry in entries:
        table.add_row(
            entry.id, entry.name or "", entry.status, entry.started, str(entry.trials), entry.best
        )
    Console().print(table)


@app.command()
def export(
    experiment_id: Annotated[str, typer.Argument(help="The experiment id (see `asyncnni list`).")],
    format: Annotated[str, typer.Option("--format", "-f", help="json or csv.")] = "json",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    working_dir: Annotated[Path | None, typer.Option(help="Where experiments live.")] = None,
) -> None:
    """Export every trial job and parameter set with its final metric."""
    from .catalog import export_rows
    from .config import default_working_directory as working_directory

    if format not in ("json", "csv"):
        raise _fail(f"--format must be json or csv, not {format!r}")
    try:
        rows = export_rows(working_dir or working_directory(), experiment_id)
    except LookupError as err:
        raise _fail(str(err)) from None
    text = json.dumps(rows, indent=2) if format == "json" else _csv(rows)
    if output is None:
        sys.stdout.write(text + ("\n" if not text.endswith("\n") else ""))
    else:
        output.write_text(text)


def _csv(rows: list[dict]) -> str:
    names = sorted({name for row in rows for name in row["parameters"]})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    fixed = ["trial_job_id", "parameter_id", "parameter_index", "status", "final_metric"]
    writer.writerow(fixed + names)
    for row in rows:
        params = row["parameters"]
        cells = [
            row[k] if k != "final_metric" or row[k] is None else json.dumps(row[k]) for k in fixed
        ]
        writer.writerow(cells + [_cell(params.get(name)) for name in names])
    return buffer.getvalue()


def _cell(value: object) -> object:
    return json.dumps(value) if isinstance(value, dict | list) else value


register_nas_cli(app)  # ss-gen: imports torch only when it runs


register_bench(app)  # `asyncnni bench`: the dispatcher throughput benchmark


register_manage(app)  # create, stop, status, trials, kill, log, update, experiment, algo


def main() -> None:
    try:
        app()  # ends with SystemExit, as every click application
    except SystemExit as end:
        if not _ran_to_end:
            raise
        import logging

        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(end.code if isinstance(end.code, int) else int(end.code is not None))
