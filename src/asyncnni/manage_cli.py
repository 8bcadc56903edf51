"""The commands that manage experiments by id (nnictl's, with its spelling where ours
differs): ``create``, ``stop``, ``status``, ``trials``, ``kill``, ``log``, ``update``,
``experiment export|import`` and ``algo register|list|unregister``.

A running experiment is reached through its control channel (:mod:`asyncnni.control`); a
stopped one is read from its store, read-only."""

from __future__ import annotations

import contextlib
import csv
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from .experiment import Experiment

STOP_TIMEOUT = 120.0  # seconds `stop` waits for the store to be closed
KILL_TIMEOUT = 60.0  # seconds `kill` waits for the trial job to end
FOLLOW_INTERVAL = 0.2  # seconds between two reads of a followed log

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

WorkingDir = Annotated[
    Path | None,
    typer.Option(help="Where experiments live (default $ASYNCNNI_HOME or ~/asyncnni-experiments)."),
]
ExperimentId = Annotated[str, typer.Argument(help="The experiment id (see `asyncnni list`).")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def _folder(experiment_id: str, working_dir: Path | None) -> Path:
    from .catalog import experiment_folder
    from .config import default_working_directory

    try:
        return experiment_folder(working_dir or default_working_directory(), experiment_id)
    except LookupError as err:
        raise _fail(str(err), 2) from None


def _request(folder: Path, kind: str, **fields: Any) -> dict[str, Any]:
    from .control import request
    from .errors import AsyncNNIError

    try:
        return request(folder, kind, **fields)
    except AsyncNNIError as err:
        raise _fail(str(err)) from None


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)  # another process's state (a socket, a file): nothing to wait on
    return True


# --- starting in the background ---------------------------------------------------------


def detached_run(experiment: Experiment, config: Path, port: int | None, host: str) -> None:
    """Start ``experiment`` in the background and say how to reach it (nnictl create)."""
    from . import detach
    from .store import exists

    if exists(experiment.folder):
        raise _fail(
            f"experiment {experiment.id} exists in {experiment.folder}; "
            f"`asyncnni resume {experiment.id}` goes on with it",
            2,
        )
    try:
        run = detach.start(config, experiment.id, experiment.folder, port=port, host=host)
    except detach.DetachError as err:
        raise _fail(f"the experiment did not start:\n{err}", 2) from None
    eid = run.experiment_id
    out.print(f"experiment [bold]{eid}[/] runs in the background (pid {run.pid})", highlight=False)
    if run.dashboard:
        out.print(f"  dashboard: {run.dashboard}", highlight=False)
    out.print(f"  status:    asyncnni status {eid}", highlight=False)
    out.print(f"  trials:    asyncnni trials {eid} --sort metric", highlight=False)
    out.print(f"  log:       asyncnni log {eid} -f", highlight=False)
    out.print(f"  stop:      asyncnni stop {eid}", highlight=False)


def create(
    config: Annotated[Path, typer.Option("--config", "-c", help="The experiment YAML.")],
    port: Annotated[
        int, typer.Option("--port", "-p", help="The dashboard's port (0: any).")
    ] = 8080,
    host: Annotated[str, typer.Option(help="The dashboard's address.")] = "127.0.0.1",
    experiment_id: Annotated[
        str | None, typer.Option("--id", help="Experiment id (default: random).")
    ] = None,
) -> None:
    """Start an experiment in the background with its dashboard (nnictl create)."""
    from .cli import load_experiment, require_web

    require_web()
    detached_run(load_experiment(config, experiment_id), config, port, host)


# --- stop, status, trials, kill, log ----------------------------------------------------


def stop(
    experiment_id: Annotated[str | None, typer.Argument(help="The experiment id.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Stop every running experiment.")] = False,
    working_dir: WorkingDir = None,
) -> None:
    """Stop a running experiment cleanly: trials terminated, the store closed, nothing lost.
    Returns once its store is closed."""
    from .config import default_working_directory
    from .control import is_running
    from .store import find_experiments

    if all_ == (experiment_id is not None):
        raise _fail("give an experiment id or --all", 2)
    if experiment_id is not None:
        folders = [_folder(experiment_id, working_dir)]
    else:
        folders = [
            f for f in find_experiments(working_dir or default_working_directory()) if is_running(f)
        ]
        if not folders:
            out.print("no experiment is running")
            return
    for folder in folders:
        _request(folder, "STOP")
    for folder in folders:  # all were told first: they stop side by side
        if not _wait(lambda f=folder: not is_running(f), STOP_TIMEOUT):
            raise _fail(f"experiment {folder.name} did not stop in {STOP_TIMEOUT:.0f} s")
        out.print(f"experiment {folder.name} stopped", highlight=False)


def _status_of(folder: Path) -> tuple[dict[str, Any], str | None]:
    """The live status when the experiment runs, else the stored one and why."""
    from .catalog import stored_status
    from .control import NotRunning, request

    try:
        return request(folder, "STATUS"), None
    except NotRunning as err:
        return stored_status(folder), str(err)


def status(
    experiment_id: ExperimentId,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    working_dir: WorkingDir = None,
) -> None:
    """An experiment's progress: counts, best, running trials with their latest
    intermediate result (live when it runs, from its store otherwise)."""
    info, why = _status_of(_folder(experiment_id, working_dir))
    if why is not None and info["status"] == "RUNNING":  # the store says so, but nobody runs it
        console.print(why, highlight=False)
    if as_json:
        sys.stdout.write(json.dumps({k: v for k, v in info.items() if k not in ("ok", "v")}) + "\n")
        return
    pid = f" (pid {info['pid']})" if info.get("pid") else ""
    out.print(f"experiment [bold]{info['id']}[/] {info['status']}{pid}", highlight=False)
    if info.get("message"):
        out.print(f"  {info['message']}", highlight=False)
    p = info["progress"]
    out.print(
        f"  trials: {p['started']} started, {p['running']} running, {p['succeeded']} succeeded, "
        f"{p['failed']} failed, {p['early_stopped']} stopped early, {p['canceled']} canceled"
        + (f", {p['waiting']} waiting on a parent" if p["waiting"] else ""),
        highlight=False,
    )
    limits = ", ".join(f"{k} {'-' if v is None else v}" for k, v in info["limits"].items())
    out.print(f"  limits: {limits}", highlight=False)
    best = info["best"]
    if best is not None:
        out.print(
            f"  best: {best['value']:.6g} (trial {best['trial_job_id']}) "
            f"{json.dumps(best['parameters'])}",
            highlight=False,
        )
    for trial in info["running"]:
        latest = "-" if trial["latest"] is None else f"{trial['latest']:.6g}"
        out.print(f"  running {trial['trial_job_id']}  latest {latest}", highlight=False)


def trials(
    experiment_id: ExperimentId,
    sort: Annotated[
        str, typer.Option(help="sequence, metric (best first) or status.")
    ] = "sequence",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    working_dir: WorkingDir = None,
) -> None:
    """The trial jobs of an experiment with status, parameters and final metric (from its
    store, read-only; a running experiment is fine)."""
    from .catalog import trial_table

    try:
        rows = trial_table(_folder(experiment_id, working_dir), sort)
    except ValueError as err:
        raise _fail(str(err), 2) from None
    if as_json:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    table = Table("trial", "#", "status", "metric", "parameters")
    for row in rows:
        metric = "" if row["metric"] is None else f"{row['metric']:.6g}"
        table.add_row(
            row["trial_job_id"],
            str(row["sequence"]),
            row["status"],
            metric,
            json.dumps(row["parameters"]),
        )
    out.print(table)


def _trial_status(folder: Path, trial_job_id: str) -> str | None:
    from .store import open_reader

    with open_reader(folder) as store:
        statuses = {row["trial_job_id"]: row["status"] for row in store.trial_rows()}
    return statuses.get(trial_job_id)


def kill(
    experiment_id: ExperimentId,
    trial_job_id: Annotated[str, typer.Argument(help="The trial job id (see `asyncnni trials`).")],
    working_dir: WorkingDir = None,
) -> None:
    """End one running trial job; it is recorded USER_CANCELED and the experiment goes on
    (the next trial job starts). Returns once it has ended."""
    folder = _folder(experiment_id, working_dir)
    _request(folder, "KILL_TRIAL", trial_job_id=trial_job_id)
    if not _wait(lambda: _trial_status(folder, trial_job_id) != "RUNNING", KILL_TIMEOUT):
        raise _fail(f"trial job {trial_job_id} did not end in {KILL_TIMEOUT:.0f} s")
    out.print(f"trial job {trial_job_id}: {_trial_status(folder, trial_job_id)}", highlight=False)


def log(
    experiment_id: ExperimentId,
    trial_job_id: Annotated[
        str | None, typer.Argument(help="A trial job id: its trial.log instead.")
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Go on printing until it ends.")
    ] = False,
    working_dir: WorkingDir = None,
) -> None:
    """Print the experiment's log (experiment.log) or a trial job's (trial.log)."""
    from .control import is_running

    folder = _folder(experiment_id, working_dir)
    if trial_job_id is None:
        path = folder / "experiment.log"
        # the run's process writes its summary after it closed the channel: follow it to its end
        pid = _pid(folder) if follow else None
        ended = lambda: not is_running(folder) and (pid is None or _process_gone(pid))  # noqa: E731
    else:
        if _trial_status(folder, trial_job_id) is None:
            raise _fail(f"no trial job {trial_job_id!r} in experiment {experiment_id}", 2)
        path = folder / "trials" / trial_job_id / "trial.log"
        ended = lambda: (  # noqa: E731
            _trial_status(folder, trial_job_id) != "RUNNING" or not is_running(folder)
        )
    with contextlib.suppress(KeyboardInterrupt):
        _print_log(path, ended if follow else lambda: True)


def _pid(folder: Path) -> int | None:
    """The pid of the process that runs the experiment, or None when none does."""
    from .control import NotRunning, request

    try:
        return request(folder, "STATUS")["pid"]
    except NotRunning:
        return None


def _process_gone(pid: int) -> bool:
    """No such process, or a zombie nobody reaps (a detached run's parent has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def _print_log(path: Path, ended: Callable[[], bool]) -> None:
    """Print ``path`` from its start, then what is appended until ``ended()`` (checked
    before the last read, so nothing written before the end is missed)."""
    offset = 0
    while True:
        done = ended()
        if path.is_file():
            with path.open("rb") as f:
                f.seek(offset)
                chunk = f.read()
            offset += len(chunk)
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
        if done:
            return
        time.sleep(FOLLOW_INTERVAL)  # another process appends to it: follow as tail -f does


# --- update -----------------------------------------------------------------------------

update_app = typer.Typer(help="Change a running experiment's limits (nnictl update).")


def _update(experiment_id: str, working_dir: Path | None, field: str, value: Any) -> None:
    _request(_folder(experiment_id, working_dir), "UPDATE", field=field, value=value)
    out.print(f"experiment {experiment_id}: {field} is {value} now", highlight=False)


@update_app.command("concurrency")
def update_concurrency(
    experiment_id: ExperimentId,
    value: Annotated[int, typer.Argument(help="Trial jobs at once.")],
    working_dir: WorkingDir = None,
) -> None:
    """Run up to VALUE trial jobs at once from now on."""
    _update(experiment_id, working_dir, "trial_concurrency", value)


@update_app.command("trialnum")
def update_trialnum(
    experiment_id: ExperimentId,
    value: Annotated[int, typer.Argument(help="Trial jobs in all.")],
    working_dir: WorkingDir = None,
) -> None:
    """Start at most VALUE trial jobs in all (max_trial_number)."""
    _update(experiment_id, working_dir, "max_trial_number", value)


@update_app.command("duration")
def update_duration(
    experiment_id: ExperimentId,
    value: Annotated[str, typer.Argument(help="30s, 10m, 2h, 1d (from the run's start).")],
    working_dir: WorkingDir = None,
) -> None:
    """End the experiment VALUE after its run started (max_experiment_duration)."""
    from .config import parse_duration

    try:
        seconds = parse_duration(value)
    except ValueError as err:
        raise _fail(str(err), 2) from None
    _update(experiment_id, working_dir, "max_experiment_duration", seconds)


# --- experiment export | import -----------------------------------------------------------

experiment_app = typer.Typer(help="Export or import an experiment's results (NNI's formats).")


@experiment_app.command("export")
def experiment_export(
    experiment_id: ExperimentId,
    filename: Annotated[Path, typer.Option("--filename", "-f", help="The file to write.")],
    type_: Annotated[str, typer.Option("--type", "-t", help="json or csv.")] = "json",
    intermediate: Annotated[
        bool, typer.Option("--intermediate", "-i", help="Add the intermediate results.")
    ] = False,
    working_dir: WorkingDir = None,
) -> None:
    """Write every final result with its parameters, as nnictl experiment export does."""
    from .catalog import nni_export

    if type_ not in ("json", "csv"):
        raise _fail(f"--type must be json or csv, not {type_!r}", 2)
    records = nni_export(_folder(experiment_id, working_dir), intermediate=intermediate)
    if type_ == "json":
        filename.write_text(json.dumps(records))
    else:
        _write_nni_csv(filename, records)
    out.print(f"{len(records)} results of {experiment_id} written to {filename}", highlight=False)


def _write_nni_csv(filename: Path, records: list[dict]) -> None:
    """NNI's CSV: the parameters, then the metric (its keys, or ``reward`` for a number),
    then ``trialJobId`` (and ``intermediate``)."""
    rows = []
    for record in records:
        value = record["value"]
        row = {**record["parameter"]}
        row.update(value if isinstance(value, dict) else {"reward": value})
        row["trialJobId"] = record["trialJobId"]
        if "intermediate" in record:
            row["intermediate"] = json.dumps(record["intermediate"])
        rows.append({k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()})
    names = list(dict.fromkeys(name for row in rows for name in row))
    with filename.open("w", newline="") as f:
        writer = csv.DictWriter(f, names)
        writer.writeheader()
        writer.writerows(rows)


@experiment_app.command("import")
def experiment_import(
    experiment_id: ExperimentId,
    filename: Annotated[
        Path, typer.Option("--filename", "-f", help='JSON: [{"parameter": {...}, "value": 0.9}]')
    ],
    working_dir: WorkingDir = None,
) -> None:
    """Feed finished results to the experiment's tuner (import_data): at once when it
    runs, and on every later run of it (resume)."""
    from . import imports
    from .control import is_running
    from .errors import AsyncNNIError

    folder = _folder(experiment_id, working_dir)
    try:
        records = imports.read_file(filename)
    except AsyncNNIError as err:
        raise _fail(str(err), 2) from None
    imports.store(folder, records)
    if is_running(folder):
        _request(folder, "IMPORT_DATA", data=records)
        when = "its tuner has them now"
    else:
        when = f"its tuner gets them when it runs again (asyncnni resume {experiment_id})"
    out.print(f"{len(records)} results imported into {experiment_id}; {when}", highlight=False)


# --- algo register | list | unregister --------------------------------------------------

algo_app = typer.Typer(help="Register your own tuners and assessors under a name (nnictl algo).")


def _builtin_names() -> dict[str, list[str]]:
    from . import assessors, tuners

    return {
        "tuner": tuners.registry.builtin_names(),
        "assessor": assessors.registry.builtin_names(),
    }


@algo_app.command("register")
def algo_register(
    meta: Annotated[
        Path,
        typer.Option(help="YAML: algoType, builtinName, className[, classArgsValidator]."),
    ],
) -> None:
    """Register a tuner or assessor class under a name of its own."""
    from . import algorithms
    from .errors import AsyncNNIError

    try:
        entry = algorithms.register(meta, _builtin_names())
    except AsyncNNIError as err:
        raise _fail(str(err), 2) from None
    out.print(
        f"registered {entry['algoType']} {entry['builtinName']} ({entry['className']}) "
        f"in {algorithms.registry_path()}",
        highlight=False,
    )


@algo_app.command("list")
def algo_list() -> None:
    """Every tuner and assessor name: built-in and registered."""
    from . import algorithms

    table = Table("name", "type", "source", "class")
    for kind, names in _builtin_names().items():
        for name in names:
            table.add_row(name, kind, "built-in", "")
    for kind in ("tuner", "assessor"):
        for entry in algorithms.entries(kind):
            table.add_row(str(entry["builtinName"]), kind, "registered", str(entry["className"]))
    out.print(table)


@algo_app.command("unregister")
def algo_unregister(name: Annotated[str, typer.Argument(help="The registered name.")]) -> None:
    """Remove a registered tuner or assessor."""
    from . import algorithms
    from .errors import AsyncNNIError

    try:
        algorithms.unregister(name)
    except AsyncNNIError as err:
        raise _fail(str(err), 2) from None
    out.print(f"unregistered {name}", highlight=False)


def register_cli(app: typer.Typer) -> None:
    app.command()(create)
    app.command()(stop)
    app.command()(status)
    app.command()(trials)
    app.command()(kill)
    app.command()(log)
    app.add_typer(update_app, name="update")
    app.add_typer(experiment_app, name="experiment")
    app.add_typer(algo_app, name="algo")
