"""Search-space generation: the JSON search space of a model's mutables, and ``asyncnni ss-gen``.

This module imports torch only inside functions, so the CLI can register ``ss-gen``
without paying for torch at start-up.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .errors import NasError

if TYPE_CHECKING:
    from torch import nn


def search_space(model: nn.Module) -> dict[str, dict[str, Any]]:
    """The search space of ``model``'s mutables, one entry per key, in model order::

        {"key": {"_type": "layer_choice", "_value": ["label", ...]},
         "key2": {"_type": "input_choice", "_value": {"candidates": ["label", ...], "n_chosen": 1}}}

    The model is not bound to anything. ``n_chosen`` is null where any number may be chosen.
    """
    from .base_mutator import group_mutables
    from .mutables import LayerChoice

    space: dict[str, dict[str, Any]] = {}
    for key, (mutable, *_) in group_mutables(model).items():
        if isinstance(mutable, LayerChoice):
            space[key] = {"_type": "layer_choice", "_value": list(mutable.labels)}
        else:
            space[key] = {
                "_type": "input_choice",
                "_value": {"candidates": list(mutable.labels), "n_chosen": mutable.n_chosen},
            }
    return space


def load_builder(target: str) -> Callable[[], Any]:
    """The callable named by ``pkg.module:build_model`` or ``path/to/file.py:build_model``."""
    module_name, sep, attr = target.rpartition(":")
    if not sep or not module_name or not attr:
        raise NasError(
            f"--model {target!r}: expected pkg.module:build_model or file.py:build_model"
        )
    try:
        module = _import(module_name)
    except Exception as err:  # the user's file or module is broken: say where, in one line
        raise NasError(
            f"--model {target!r}: importing {module_name} failed: {type(err).__name__}: {err}"
        ) from err
    builder = getattr(module, attr, None)
    if not callable(builder):
        raise NasError(f"--model {target!r}: {module_name} has no callable {attr!r}")
    return builder


def _import(module_name: str) -> Any:
    if not (module_name.endswith(".py") or os.sep in module_name):
        return importlib.import_module(module_name)
    path = Path(module_name).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no file {str(path)!r}")
    # the file's folder goes on sys.path, as when running it, for its sibling imports
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(f"_asyncnni_ssgen_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generate_search_space(target: str | Callable[[], Any]) -> dict[str, dict[str, Any]]:
    """Build the model with ``target`` (a callable, or a name for :func:`load_builder`) and
    return its search space."""
    from torch import nn

    builder = load_builder(target) if isinstance(target, str) else target
    model = builder()
    if not isinstance(model, nn.Module):
        raise NasError(f"{target!r} returned {type(model).__name__}, not a torch module")
    return search_space(model)


def search_space_from_trial(command: str, cwd: Path) -> dict[str, dict[str, Any]]:
    """Run a trial command until its ``apply_fixed_architecture`` call, and return the search
    space of the model it was given (the trial exits there, see ``SS_GEN_ENV``)."""
    from ..training.local import python_folder
    from .fixed import SS_GEN_ENV

    # a standalone run: no dispatcher, no parameters given from outside
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCNNI_")}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "search_space.json"
        env[SS_GEN_ENV] = str(out)
        # `python` in the command is this interpreter, as when the experiment runs it
        env["PATH"] = os.pathsep.join([str(python_folder(Path(tmp))), env.get("PATH", "")])
        # the trial's own output is kept off stdout, where the JSON goes
        done = subprocess.run(
            command,
            shell=True,
            cwd=cwd,
            env=env,
            check=False,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if not out.is_file():
            raise NasError(
                f"trial command {command!r} exited with code {done.returncode} without "
                f"calling asyncnni.nas.apply_fixed_architecture; its output ends:\n"
                f"{done.stdout[-2000:]}"
            )
        return json.loads(out.read_text())


def trial_of(exp: Path) -> tuple[str, Path]:
    """The trial command and code folder of an experiment YAML (either key style).

    Only these two keys are read: the search space the YAML names may not exist yet.
    """
    from ruamel.yaml import YAML, YAMLError

    from ..errors import ConfigError

    try:
        data = YAML(typ="safe").load(exp.read_text())
    except (OSError, YAMLError) as err:
        raise ConfigError(f"{exp}: cannot read the experiment: {err}") from err
    data = data if isinstance(data, dict) else {}
    command = data.get("trial_command", data.get("trialCommand"))
    if not isinstance(command, str):
        raise ConfigError(f"{exp}: trial_command missing or not a string")
    code_dir = data.get("trial_code_directory", data.get("trialCodeDirectory", "."))
    return command, (exp.parent / str(code_dir)).resolve()


def register_cli(app: typer.Typer) -> None:
    """Add ``ss-gen`` to ``app``: ``asyncnni ss-gen --model pkg.module:build_model [--output FILE]``
    or ``asyncnni ss-gen --exp exp.yaml``; JSON goes to stdout without ``--output``."""

    @app.command("ss-gen")
    def ss_gen(
        model: Annotated[
            str | None,
            typer.Option(help="pkg.module:build_model or file.py:build_model, returning the model"),
        ] = None,
        exp: Annotated[
            Path | None,
            typer.Option(help="an experiment YAML whose trial calls apply_fixed_architecture"),
        ] = None,
        output: Annotated[
            Path | None, typer.Option(help="write the JSON here, not to stdout")
        ] = None,
    ) -> None:
        """Write the JSON search space of a NAS model's mutables."""
        from ..errors import AsyncNNIError

        if (model is None) == (exp is None):
            typer.echo("error: give exactly one of --model and --exp", err=True)
            raise typer.Exit(2)
        try:
            space = (
                generate_search_space(model) if model else search_space_from_trial(*trial_of(exp))
            )
        except AsyncNNIError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(1) from None
        text = json.dumps(space, indent=2) + "\n"
        if output is None:
            typer.echo(text, nl=False)
        else:
            output.write_text(text)
