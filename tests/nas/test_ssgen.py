"""Search-space generation: from a model, from a builder name, from the CLI and from a trial."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import typer
from torch import nn
from typer.testing import CliRunner

from asyncnni.nas import InputChoice, LayerChoice, generate_search_space, search_space
from asyncnni.nas.ssgen import register_cli

TOY_SPACE = {
    "op": {"_type": "layer_choice", "_value": ["conv3x3", "conv5x5", "maxpool", "zero"]},
    "skip": {"_type": "input_choice", "_value": {"candidates": ["stem", "op"], "n_chosen": 1}},
}

BUILDER = """
from torch import nn
from asyncnni.nas import InputChoice, LayerChoice


def build_model():
    model = nn.Module()
    model.act = LayerChoice([nn.ReLU(), nn.Tanh()], key="act")
    model.cells = nn.ModuleList([InputChoice(3, n_chosen=None) for _ in range(2)])
    return model
"""
BUILT_SPACE = {
    "act": {"_type": "layer_choice", "_value": ["ReLU()", "Tanh()"]},
    "cells.0": {
        "_type": "input_choice",
        "_value": {"candidates": ["0", "1", "2"], "n_chosen": None},
    },
    "cells.1": {
        "_type": "input_choice",
        "_value": {"candidates": ["0", "1", "2"], "n_chosen": None},
    },
}


def test_search_space_of_a_known_model(toy_net):
    model = toy_net()
    assert search_space(model) == TOY_SPACE
    assert model.op.mutator is None  # generation binds nothing


def test_unlabelled_candidates_are_named_by_their_one_line_repr():
    model = nn.Module()
    model.op = LayerChoice([nn.Conv2d(2, 2, 3, padding=1), nn.Sequential(nn.Identity(), nn.ReLU())])
    model.pick = InputChoice(["a", "b", "c"], n_chosen=2, key="pick")
    assert search_space(model) == {
        "op": {
            "_type": "layer_choice",
            "_value": [
                "Conv2d(2, 2, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
                "Sequential( (0): Identity() (1): ReLU() )",
            ],
        },
        "pick": {"_type": "input_choice", "_value": {"candidates": ["a", "b", "c"], "n_chosen": 2}},
    }


@pytest.fixture
def builder_file(tmp_path, monkeypatch):
    path = tmp_path / "nas_space_for_ssgen.py"
    path.write_text(BUILDER)
    monkeypatch.syspath_prepend(str(tmp_path))
    return path


def test_builders_by_module_name_and_by_file(builder_file):
    assert generate_search_space("nas_space_for_ssgen:build_model") == BUILT_SPACE
    assert generate_search_space(f"{builder_file}:build_model") == BUILT_SPACE


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("version")(lambda: None)  # a second command, so ss-gen stays a subcommand
    register_cli(app)
    return app


def test_cli_prints_json_or_writes_the_output_file(builder_file, tmp_path):
    runner = CliRunner()
    printed = runner.invoke(cli(), ["ss-gen", "--model", "nas_space_for_ssgen:build_model"])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout) == BUILT_SPACE
    out = tmp_path / "space.json"
    written = runner.invoke(
        cli(), ["ss-gen", "--model", f"{builder_file}:build_model", "--output", str(out)]
    )
    assert written.exit_code == 0 and written.stdout == ""
    assert json.loads(out.read_text()) == BUILT_SPACE


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([], 2, "exactly one of --model and --exp"),
        (
            ["--model", "no_such_module_xyz:build"],
            1,
            "importing no_such_module_xyz failed: ModuleNotFoundError",
        ),
        (["--model", "missing_file.py:build"], 1, "no file"),
        (["--model", "nas_space_for_ssgen:missing"], 1, "has no callable 'missing'"),
        (["--model", "no_colon"], 1, "expected pkg.module:build_model"),
    ],
)
def test_cli_errors_are_one_line(builder_file, args, code, message):
    result = CliRunner().invoke(cli(), ["ss-gen", *args])
    assert result.exit_code == code
    assert message in result.stderr and "Traceback" not in result.stderr


def test_cli_from_the_trial_command_of_an_experiment(tmp_path):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "trial.py").write_text(
        textwrap.dedent(
            """
            import asyncnni
            from asyncnni.nas import apply_fixed_architecture
            from nas_space import build_model

            print("trial output stays off stdout")
            model = build_model()
            apply_fixed_architecture(model, asyncnni.get_next_parameter())
            raise SystemExit("not reached in ss-gen mode")
            """
        )
    )
    (tmp_path / "code" / "nas_space.py").write_text(BUILDER)
    exp = tmp_path / "exp.yaml"
    exp.write_text(
        "trialCommand: python trial.py\ntrialCodeDirectory: code\n"
        "search_space_file: search_space.json\n"
    )
    result = CliRunner().invoke(cli(), ["ss-gen", "--exp", str(exp)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == BUILT_SPACE


def test_cli_from_a_trial_that_never_applies_an_architecture(tmp_path):
    exp = tmp_path / "exp.yaml"
    exp.write_text(f"trial_command: {sys.executable} -c 'print(42)'\n")
    result = CliRunner().invoke(cli(), ["ss-gen", "--exp", str(exp)])
    assert result.exit_code == 1
    assert "without calling asyncnni.nas.apply_fixed_architecture" in result.stderr
    assert "42" in result.stderr


def test_the_main_cli_has_ss_gen_without_importing_torch():
    code = (
        "import sys; from asyncnni.cli import app; import asyncnni.nas; "
        "print([c.name for c in app.registered_commands], 'torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "'ss-gen'" in done.stdout and done.stdout.strip().endswith("False")
