"""NNI v1 configs load as NNI's to_v2 converts them; every unknown key is reported at once."""

from __future__ import annotations

import json
import logging
import textwrap
from pathlib import Path

import pytest

from asyncnni.config import PluginConfig, config_from_dict, load_config
from asyncnni.errors import ConfigError

SPACE = {"x": {"_type": "choice", "_value": [1, 2]}}

# NNI's v1 layout, keys in NNI's order (test/training_service/config style)
V1 = """\
authorName: nni
experimentName: v1_test
trialConcurrency: 2
maxExecDuration: 5m
maxTrialNum: 4
trainingServicePlatform: local
searchSpacePath: search_space.json
useAnnotation: false
multiPhase: false
multiThread: true
logDir: runs
logLevel: debug
logCollection: none
versionCheck: true
debug: false
nniManagerIp: 127.0.0.1
tuner:
  builtinTunerName: TPE
  classArgs:
    optimize_mode: maximize
  includeIntermediateResults: true
assessor:
  codeDir: .
  classFileName: my_assessor.py
  className: MyAssessor
  classArgs:
    optimize_mode: maximize
trial:
  command: python3 trial.py
  codeDir: code
  gpuNum: 0
localConfig:
  gpuIndices: "0,1"
  maxTrialNumPerGpu: 2
  useActiveGpu: false
"""


def write(folder: Path, text: str, name: str = "exp.yml") -> Path:
    (folder / "search_space.json").write_text(json.dumps(SPACE))
    (folder / "code").mkdir(exist_ok=True)
    (folder / "my_assessor.py").write_text("class MyAssessor:\n    pass\n")
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def test_a_v1_config_is_converted_key_by_key(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="asyncnni.config"):
        config = load_config(write(tmp_path, V1))
    assert config.experiment_name == "v1_test"
    assert config.trial_concurrency == 2 and config.max_trial_number == 4
    assert config.max_experiment_duration == 300
    assert config.search_space == SPACE
    assert config.async_dispatcher and not config.multi_phase
    assert config.experiment_working_directory == (tmp_path / "runs").resolve()
    assert config.log_level == "debug"
    assert config.trial_command == "python3 trial.py"
    assert config.trial_code_directory == (tmp_path / "code").resolve()
    assert config.trial_gpu_number == 0
    assert config.tuner == PluginConfig(name="TPE", class_args={"optimize_mode": "maximize"})
    assert config.assessor == PluginConfig(
        class_name="MyAssessor",
        code_directory=tmp_path.resolve(),
        class_file_name="my_assessor.py",
        class_args={"optimize_mode": "maximize"},
    )
    service = config.training_service
    assert (service.platform, service.gpu_indices, service.max_trial_number_per_gpu) == (
        "local",
        [0, 1],
        2,
    )
    # one note says what was converted, and that the keys without meaning were dropped
    note = " ".join(config.notes)
    for fragment in (
        "maxTrialNum -> max_trial_number",
        "trial.command -> trial_command",
        "tuner.builtinTunerName -> tuner.name",
        "authorName dropped",
        "logCollection dropped",
        "versionCheck dropped",
        "nniManagerIp dropped",
        "debug dropped",
        "includeIntermediateResults dropped",
    ):
        assert fragment in note
    assert "converted as NNI's to_v2 does" in caplog.text and "authorName dropped" in caplog.text


def test_v1_advisor_becomes_the_v2_advisor_section(tmp_path):
    text = V1.split("tuner:")[0] + textwrap.dedent("""\
        advisor:
          builtinAdvisorName: Hyperband
          classArgs: {optimize_mode: maximize, R: 60, eta: 3}
        trial:
          command: python3 trial.py
          codeDir: code
        """)
    config = load_config(write(tmp_path, text))
    expected = PluginConfig(
        name="Hyperband", class_args={"optimize_mode": "maximize", "R": 60, "eta": 3}
    )
    assert config.advisor == expected and config.tuner == expected  # the advisor is the tuner
    from asyncnni.config import config_v1

    converted, _ = config_v1.to_v2(
        _plain_node(
            {
                "trainingServicePlatform": "local",
                "advisor": {"builtinAdvisorName": "BOHB", "classArgs": {"eta": 3}},
            }
        )
    )
    assert dict(converted["advisor"]) == {"name": "BOHB", "class_args": {"eta": 3}}
    assert dict(converted["training_service"]) == {"platform": "local"}


def _plain_node(data: dict):
    from asyncnni.config import _Context, _Node

    return _Node(data, "", None, _Context(None, Path.cwd()))


def test_use_annotation_true_is_refused_where_it_is_written(tmp_path):
    path = write(tmp_path, V1.replace("useAnnotation: false", "useAnnotation: true"))
    message = error_of(path)
    assert message.startswith(f"{path}:8:16: useAnnotation: NNI annotations are not supported")


def test_every_unknown_key_of_a_file_is_reported_in_one_run(tmp_path):
    text = (
        V1.replace("debug: false\n", "colour: blue\n")
        .replace("  includeIntermediateResults: true\n", "  clasArgs: {}\n")
        .replace("  useActiveGpu: false\n", "  useActivGpu: false\n")
    )
    lines = error_of(write(tmp_path, text)).splitlines()
    assert len(lines) == 3, lines
    assert lines[0].endswith(
        ":15:1: colour: unknown key; valid keys here: " + lines[0].split("here: ")[1]
    )
    assert ":21:3: tuner.clasArgs: unknown key; did you mean 'classArgs'?" in lines[1]
    assert (
        ":35:3: training_service.useActivGpu: unknown key; did you mean 'useActiveGpu'?" in lines[2]
    )


def test_unknown_keys_of_a_v2_file_are_all_reported_too(tmp_path):
    text = """\
        search_space: {x: {_type: choice, _value: [1]}}
        trial_command: python t.py
        trial_concurency: 2
        tuner: {name: Random, clas_args: {}}
        training_service: {platform: local, gpu_indicies: [0]}
        """
    lines = error_of(write(tmp_path, text)).splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        "trial_concurency",
        "tuner.clas_args",
        "training_service.gpu_indicies",
    ]


def test_a_users_tuner_gets_its_search_space_exactly_as_written(tmp_path):
    # NNI's naive test sends {"x": [1, 100]}, no NNI type, to a tuner of the user's own
    (tmp_path / "space.json").write_text('{"x": [1, 100]}')
    (tmp_path / "my_tuner.py").write_text("class MyTuner:\n    pass\n")
    head = "searchSpaceFile: space.json\ntrialCommand: python3 t.py\n"
    path = tmp_path / "exp.yml"
    path.write_text(
        head + "tuner: {codeDirectory: ., classFileName: my_tuner.py, className: MyTuner}\n"
    )
    assert load_config(path).search_space == {"x": [1, 100]}
    # a built-in tuner's space is checked as before
    path.write_text(head + "tuner: {name: TPE}\n")
    assert "search_space_file" in error_of(path)


def test_config_from_dict_takes_base_dir_as_a_string(tmp_path, monkeypatch):
    (tmp_path / "experiments").mkdir()
    monkeypatch.chdir(tmp_path)
    config = config_from_dict(
        {
            "search_space": SPACE,
            "trial_command": "python t.py",
            "tuner": {"name": "Random"},
            "trial_code_directory": ".",
        },
        base_dir="experiments",
    )
    assert config.trial_code_directory == (tmp_path / "experiments").resolve()


def test_a_v1_dict_converts_in_python_too():
    config = config_from_dict(
        {
            "authorName": "me",
            "trainingServicePlatform": "local",
            "maxTrialNum": 3,
            "trial": {"command": "python3 t.py"},
            "tuner": {"builtinTunerName": "Random"},
            "searchSpace": SPACE,
        },
        base_dir=Path.cwd(),
    )
    assert (config.max_trial_number, config.trial_command, config.tuner.name) == (
        3,
        "python3 t.py",
        "Random",
    )
