"""Experiment YAML -> ExperimentConfig: both key styles, paths, durations, located errors."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncnni.config import (
    ExperimentConfig,
    PluginConfig,
    SharedStorageConfig,
    TrainingServiceConfig,
    config_from_dict,
    load_config,
    parse_duration,
)
from asyncnni.errors import ConfigError

# five lines; the error cases below append to it, so their line 6 is the first appended line
BASE = """\
search_space:
  lr: {_type: uniform, _value: [0, 1]}
trial_command: python t.py
tuner:
  name: Random
"""
S = "search_space: {x: {_type: choice, _value: [1]}}\n"
SPACE = {"lr": {"_type": "uniform", "_value": [0, 1]}}


def write(folder: Path, text: str, name: str = "exp.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def load_error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def test_minimal_config_gets_the_documented_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("ASYNCNNI_HOME", str(tmp_path / "home"))
    config = load_config(write(tmp_path, BASE))
    assert config == ExperimentConfig(
        search_space=SPACE,
        trial_command="python t.py",
        trial_code_directory=tmp_path.resolve(),
        tuner=PluginConfig(name="Random"),
        experiment_working_directory=(tmp_path / "home").resolve(),
        source=(tmp_path / "exp.yaml").resolve(),
    )
    # plain Python values, not ruamel's round-trip types
    assert type(config.search_space) is dict
    assert type(config.search_space["lr"]["_value"]) is list


def test_working_directory_defaults_to_home_folder_without_asyncnni_home(tmp_path, monkeypatch):
    monkeypatch.delenv("ASYNCNNI_HOME", raising=False)
    config = load_config(write(tmp_path, BASE))
    assert config.experiment_working_directory == Path.home() / "asyncnni-experiments"


FULL_SNAKE = """\
experiment_name: full
search_space_file: space.json
trial_command: python model.py
trial_code_directory: code
trial_concurrency: 4
trial_gpu_number: 1
max_trial_number: 20
max_experiment_duration: 2h
max_trial_duration: 90
experiment_working_directory: runs
tuner:
  class_name: MyTuner
  code_directory: code
  class_file_name: my_tuner.py
  class_args: {optimize_mode: minimize, seed: 3}
assessor:
  name: Medianstop
  class_args: {start_step: 2}
training_service:
  platform: local
  gpu_indices: [0, 2]
  max_trial_number_per_gpu: 2
  use_active_gpu: true
shared_storage:
  storage_type: NFS
  local_mount_point: shared
  remote_mount_point: /exports/nni
  local_mounted: usermount
  nfs_server: 10.0.0.1
  exported_directory: /exports
multi_phase: true
async_dispatcher: true
log_level: DEBUG
"""

FULL_CAMEL = """\
experimentName: full
searchSpaceFile: space.json
trialCommand: python model.py
trialCodeDirectory: code
trialConcurrency: 4
trialGpuNumber: 1
maxTrialNumber: 20
maxExperimentDuration: 2h
maxTrialDuration: 90
experimentWorkingDirectory: runs
tuner:
  className: MyTuner
  codeDirectory: code
  classFileName: my_tuner.py
  classArgs: {optimize_mode: minimize, seed: 3}
assessor:
  name: Medianstop
  classArgs: {start_step: 2}
trainingService:
  platform: local
  gpuIndices: [0, 2]
  maxTrialNumberPerGpu: 2
  useActiveGpu: true
sharedStorage:
  storageType: NFS
  localMountPoint: shared
  remoteMountPoint: /exports/nni
  localMounted: usermount
  nfsServer: 10.0.0.1
  exportedDirectory: /exports
multiPhase: true
multiThread: true
logLevel: DEBUG
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "my_tuner.py").write_text("class MyTuner: ...\n")
    (tmp_path / "space.json").write_text(json.dumps(SPACE))
    return tmp_path


def test_every_key_in_snake_case(project, monkeypatch):
    monkeypatch.chdir("/")  # relative paths must not depend on the current folder
    config = load_config(write(project, FULL_SNAKE))
    root = project.resolve()
    assert config == ExperimentConfig(
        experiment_name="full",
        search_space=SPACE,
        trial_command="python model.py",
        trial_code_directory=root / "code",
        trial_concurrency=4,
        trial_gpu_number=1,
        max_trial_number=20,
        max_experiment_duration=7200.0,
        max_trial_duration=90.0,
        experiment_working_directory=root / "runs",
        tuner=PluginConfig(
            class_name="MyTuner",
            code_directory=root / "code",
            class_file_name="my_tuner.py",
            class_args={"optimize_mode": "minimize", "seed": 3},
        ),
        assessor=PluginConfig(name="Medianstop", class_args={"start_step": 2}),
        training_service=TrainingServiceConfig(
            platform="local", gpu_indices=[0, 2], max_trial_number_per_gpu=2, use_active_gpu=True
        ),
        shared_storage=SharedStorageConfig(
            local_mount_point=root / "shared",
            storage_type="NFS",
            remote_mount_point="/exports/nni",
            local_mounted="usermount",
            nfs_server="10.0.0.1",
            exported_directory="/exports",
        ),
        multi_phase=True,
        async_dispatcher=True,
        log_level="debug",
        source=root / "exp.yaml",
    )


def test_camel_case_gives_the_same_config(project):
    snake = load_config(write(project, FULL_SNAKE, "snake.yaml"))
    camel = load_config(write(project, FULL_CAMEL, "camel.yaml"))
    snake.source = camel.source = None
    assert camel == snake


def test_search_space_file_in_yaml(tmp_path):
    write(tmp_path, "lr: {_type: uniform, _value: [0, 1]}\n", "space.yml")
    text = BASE.replace("search_space:\n  lr: {_type: uniform, _value: [0, 1]}\n", "")
    config = load_config(write(tmp_path, text + "search_space_file: space.yml\n"))
    assert config.search_space == SPACE


def test_paths_are_relative_to_the_yaml_not_to_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "exp" / "trial").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    config = load_config(write(tmp_path / "exp", BASE + "trial_code_directory: trial\n"))
    assert config.trial_code_directory == (tmp_path / "exp" / "trial").resolve()


def test_absolute_and_home_paths_are_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    config = load_config(
        write(
            tmp_path,
            BASE + f"trial_code_directory: {tmp_path}\nexperiment_working_directory: ~/w\n",
        )
    )
    assert config.trial_code_directory == tmp_path.resolve()
    assert config.experiment_working_directory == (tmp_path / "w").resolve()


def test_advisor_is_the_tuner(tmp_path):
    text = BASE.replace(
        "tuner:\n  name: Random\n",
        "advisor:\n  name: BOHB\n  classArgs: {max_budget: 9}\n",
    )
    config = load_config(write(tmp_path, text))
    assert config.advisor == PluginConfig(name="BOHB", class_args={"max_budget": 9})
    assert config.tuner == config.advisor


def test_null_optional_keys_mean_absent(tmp_path):
    config = load_config(write(tmp_path, BASE + "assessor:\nmax_trial_number: null\n"))
    assert config.assessor is None and config.max_trial_number is None


@pytest.mark.parametrize(
    ("text", "gpu_indices"),
    [("3", [3]), ("'0,1, 2'", [0, 1, 2]), ("[]", [])],
)
def test_gpu_indices_in_nni_forms(tmp_path, text, gpu_indices):
    config = load_config(write(tmp_path, BASE + f"training_service: {{gpu_indices: {text}}}\n"))
    assert config.training_service.gpu_indices == gpu_indices


# (appended to BASE, line, column, key path, fragment of what is wrong)
# fmt: off
ERROR_CASES = [
    ("trial_concurrency: \"four\"\n", 6, 20, "trial_concurrency", "positive integer"),
    ("trialConcurrency: four\n", 6, 19, "trialConcurrency", "positive integer"),
    ("trial_concurrency: true\n", 6, 20, "trial_concurrency", "boolean"),
    ("trial_concurrency: 0\n", 6, 20, "trial_concurrency", "positive integer"),
    ("trial_concurrency: -2\n", 6, 20, "trial_concurrency", "positive integer"),
    ("trial_concurrency: 1.5\n", 6, 20, "trial_concurrency", "positive integer"),
    ("trial_concurrency:\n", 6, 1, "trial_concurrency", "null"),
    ("trial_gpu_number: -1\n", 6, 19, "trial_gpu_number", "non-negative integer"),
    ("max_trial_number: 0\n", 6, 19, "max_trial_number", "positive integer"),
    ("trial_concurency: 2\n", 6, 1, "trial_concurency", "did you mean 'trial_concurrency'"),
    ("trialConcurency: 2\n", 6, 1, "trialConcurency", "did you mean 'trialConcurrency'"),
    ("  codeDir: .\n", 6, 3, "tuner.codeDir", "an NNI v1 key; write code_directory"),
    ("colour: blue\n", 6, 1, "colour", "valid keys here"),
    ("trial_concurrency: 2\ntrialConcurrency: 3\n", 7, 1, "trialConcurrency", "given twice"),
    ("async_dispatcher: true\nmultiThread: true\n", 7, 1, "multiThread", "given twice"),
    ("max_trial_duration: 10 minutes\n", 6, 21, "max_trial_duration", "not a duration"),
    ("max_experiment_duration: -5\n", 6, 26, "max_experiment_duration", "positive"),
    ("max_experiment_duration: 0s\n", 6, 26, "max_experiment_duration", "positive"),
    ("max_trial_duration: true\n", 6, 21, "max_trial_duration", "duration"),
    ("multi_phase: yes\n", 6, 14, "multi_phase", "true or false"),
    ("multiPhase: 1\n", 6, 13, "multiPhase", "true or false"),
    ("log_level: loud\n", 6, 12, "log_level", "not one of"),
    ("experiment_name: [a]\n", 6, 18, "experiment_name", "string"),
    ("trial_code_directory: nowhere\n", 6, 23, "trial_code_directory", "no such folder"),
    ("search_space_file: space.json\n", 6, 20, "search_space_file", "not both"),
    ("training_service:\n  platform: remote\n", 7, 13, "training_service.platform", "not implemented"),
    ("training_service:\n  platform: mars\n", 7, 13, "training_service.platform", "unknown platform"),
    ("training_service:\n  gpu_indices: [0, -1]\n", 7, 20, "training_service.gpu_indices[1]", "non-negative"),
    ("training_service:\n  gpu_indices: [1, 1]\n", 7, 16, "training_service.gpu_indices", "repeat"),
    ("training_service:\n  gpuIndices: 'a,b'\n", 7, 15, "training_service.gpuIndices", "GPU indices"),
    ("training_service:\n  use_active_gpu: 0\n", 7, 19, "training_service.use_active_gpu", "true or false"),
    ("training_service:\n  machine_list: []\n", 7, 3, "training_service.machine_list", "unknown key"),
    ("training_service: local\n", 6, 19, "training_service", "map of keys"),
    ("shared_storage:\n  storage_type: NFS\n", 7, 3, "shared_storage.local_mount_point", "missing"),
    ("shared_storage:\n  local_mount_point: s\n  local_mounted: x\n", 8, 18, "shared_storage.local_mounted", "not one of"),
    ("assessor:\n  class_args: {}\n", 7, 3, "assessor", "give name"),
    ("assessor:\n  name: Mediantop\n", 7, 9, "assessor.name", "did you mean 'medianstop'"),
    ("assessor:\n  name: Medianstop\n  class_name: a.B\n", 8, 15, "assessor.class_name", "not both"),
    ("assessor:\n  class_name: Mine\n", 7, 15, "assessor.class_name", "dotted path"),
    ("assessor:\n  class_name: Mine\n  class_file_name: mine.py\n", 7, 3, "assessor.code_directory", "required with class_file_name"),
    ("assessor:\n  class_name: Mine\n  code_directory: .\n  class_file_name: mine.py\n", 9, 20, "assessor.class_file_name", "no file"),
    ("assessor:\n  class_name: a.B\n  code_directory: gone\n", 8, 19, "assessor.code_directory", "no such folder"),
    ("assessor:\n  name: Medianstop\n  class_args: [1]\n", 8, 15, "assessor.class_args", "map"),
    ("assessor:\n  name: Medianstop\n  class_args: {1: 2}\n", 8, 16, "assessor.class_args.1", "identifier"),
    ("assessor:\n  name: Medianstop\n  classArgs: {}\n  class_args: {}\n", 9, 3, "assessor.class_args", "given twice"),
    ("advisor:\n  class_name: a.B\n", 5, 3, "tuner", "advisor replaces"),
    ("1: one\n", 6, 1, "", "keys must be strings"),
]
# fmt: on


@pytest.mark.parametrize(("extra", "line", "column", "key", "fragment"), ERROR_CASES)
def test_errors_name_file_line_column_and_key(tmp_path, extra, line, column, key, fragment):
    (tmp_path / "space.json").write_text(json.dumps(SPACE))
    path = write(tmp_path, BASE + extra)
    message = load_error(path)
    prefix = f"{path}:{line}:{column}: " + (f"{key}: " if key else "")
    assert message.startswith(prefix), message
    assert fragment in message


RUN = "trial_command: x\ntuner: {name: Random}\n"
# fmt: off
WHOLE_FILE_CASES = [
    (RUN, 1, 1, "search_space", "missing"),
    (S + "tuner: {name: Random}\n", 1, 1, "trial_command", "missing"),
    (S + "trial_command: x\n", 1, 1, "tuner", "missing"),
    ("search_space: [1]\n" + RUN, 1, 15, "search_space", "map"),
    (S + "trial_command: ''\ntuner: {name: Random}\n", 2, 16, "trial_command", "non-empty"),
    (S + "trial_command: x\ntuner: {name: TPEE}\n", 3, 15, "tuner.name", "unknown built-in tuner"),
    (S + "trial_command: x\ntuner: {}\n", 3, 8, "tuner", "give name"),
    (S + "trial_command: x\ntuner: Random\n", 3, 8, "tuner", "map of keys"),
    ("search_space_file: nope.json\n" + RUN, 1, 20, "search_space_file", "no such file"),
    ("- a\n- b\n", 1, 1, "", "map of keys"),
]
# fmt: on


@pytest.mark.parametrize(("text", "line", "column", "key", "fragment"), WHOLE_FILE_CASES)
def test_whole_file_errors(tmp_path, text, line, column, key, fragment):
    path = write(tmp_path, text)
    message = load_error(path)
    assert message.startswith(f"{path}:{line}:{column}: " + (f"{key}: " if key else "")), message
    assert fragment in message


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("search_space: {\ntrial_command: x\n", 3, 1),
        ("a: 1\na: 2\n", 2, 1),  # duplicate key
        ("a: [1, 2\nb: 3\n", 2, 2),
        ("trial_command: 'open\n", 2, 1),
    ],
)
def test_unparsable_yaml_is_located(tmp_path, text, line, column):
    path = write(tmp_path, text)
    message = load_error(path)
    assert re.match(rf"{re.escape(str(path))}:{line}:{column}: invalid YAML: \S", message), message


def test_empty_and_missing_files(tmp_path):
    assert (
        load_error(write(tmp_path, ""))
        == f"{tmp_path / 'exp.yaml'}:1:1: the file is empty; an experiment config is a map of keys"
    )
    assert load_error(tmp_path / "gone.yaml") == f"{tmp_path / 'gone.yaml'}: no such file"
    assert load_error(tmp_path) == f"{tmp_path}: not a file"


@pytest.mark.parametrize(
    ("name", "content", "line", "column", "fragment"),
    [
        (
            "space.json",
            '{\n  "lr": {"_type": "uniform",\n  "_value": [0, 1]\n',
            4,
            1,
            "invalid JSON",
        ),
        ("space.json", '{"lr": 1,}', 1, 10, "invalid JSON"),
        ("space.yaml", "lr:\n  _type: uniform\n   _value: [0, 1]\n", 3, 10, "invalid YAML"),
    ],
)
def test_errors_inside_the_search_space_file_name_that_file(
    tmp_path, name, content, line, column, fragment
):
    space = tmp_path / name
    space.write_text(content)
    text = f"search_space_file: {name}\ntrial_command: x\ntuner: {{name: Random}}\n"
    path = write(tmp_path, text)
    message = load_error(path)
    assert message.startswith(
        f"{space.resolve()}:{line}:{column}: search_space_file: {fragment}"
    ), message
    assert message.endswith(f"(search_space_file at {path}:1:20)")


def test_search_space_file_must_hold_a_map(tmp_path):
    (tmp_path / "space.json").write_text("[1, 2]")
    path = write(
        tmp_path, "search_space_file: space.json\ntrial_command: x\ntuner: {name: Random}\n"
    )
    assert "must be a map of parameter names" in load_error(path)


def test_config_from_dict_uses_base_dir_and_plain_key_paths(tmp_path):
    (tmp_path / "code").mkdir()
    data = {
        "searchSpace": SPACE,
        "trialCommand": "python t.py",
        "trialCodeDirectory": Path("code"),
        "tuner": {"name": "Random"},
        "maxTrialDuration": "10m",
    }
    config = config_from_dict(data, base_dir=tmp_path)
    assert config.trial_code_directory == (tmp_path / "code").resolve()
    as_text = config_from_dict(data, base_dir=str(tmp_path))  # the docstring takes str paths
    assert as_text.trial_code_directory == config.trial_code_directory
    assert config.max_trial_duration == 600.0
    assert config.source is None
    with pytest.raises(ConfigError) as info:
        config_from_dict(
            {**data, "tuner": {"name": "Random", "class_args": {"seed": 1}, "colour": 1}}
        )
    assert (
        str(info.value)
        == "tuner.colour: unknown key; valid keys here: class_args, class_file_name, class_name, code_directory, name"
    )


def test_config_from_dict_paths_default_to_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = config_from_dict(
        {"search_space": SPACE, "trial_command": "x", "tuner": {"name": "Random"}}
    )
    assert config.trial_code_directory == tmp_path.resolve()


# ----------------------------------------------------------------------------- durations

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("10m", 600),
        ("2h", 7200),
        ("1d", 86400),
        ("1.5h", 5400),
        (" 5 M ", 300),
        ("45", 45),
        (12, 12),
        (0.5, 0.5),
    ],
)
def test_duration_examples(text, seconds):
    assert parse_duration(text) == seconds


@given(
    number=st.integers(min_value=1, max_value=10**6),
    unit=st.sampled_from(sorted(UNITS)),
    upper=st.booleans(),
)
def test_duration_with_unit_is_number_times_unit(number, unit, upper):
    assert parse_duration(f"{number}{unit.upper() if upper else unit}") == number * UNITS[unit]


@given(st.floats(min_value=1e-6, max_value=1e9, allow_nan=False))
def test_duration_in_seconds_is_kept(seconds):
    assert parse_duration(seconds) == seconds


@given(
    st.one_of(
        st.floats(max_value=0) | st.just(float("inf")) | st.just(float("nan")),
        st.integers(max_value=0),
        st.booleans(),
        st.text().filter(
            lambda s: re.fullmatch(r"\s*([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*[smhdSMHD]?\s*", s) is None
        ),
    )
)
def test_anything_else_is_not_a_duration(value):
    with pytest.raises(ValueError):
        parse_duration(value)


# ----------------------------------------------------------------------------- search space shape


@pytest.mark.parametrize(
    ("space", "line", "column", "key", "fragment"),
    [
        ("  lr: {_type: loguniform, _value: [0, 1]}\n", 2, 7, "lr", "loguniform needs 0 < low"),
        ("  lr: {_type: uniformm, _value: [0, 1]}\n", 2, 7, "lr", "unknown _type"),
        (
            "  opt:\n    _type: choice\n    _value:\n      - {_name: sgd, lr: {_type: uniform, _value: [1, 0]}}\n",
            5,
            26,
            "opt._value[0].lr",
            "uniform needs low < high",
        ),
    ],
)
def test_invalid_search_space_points_at_the_parameter(tmp_path, space, line, column, key, fragment):
    path = write(tmp_path, "search_space:\n" + space + "trial_command: x\ntuner: {name: Random}\n")
    message = load_error(path)
    assert message.startswith(f"{path}:{line}:{column}: search_space.{key}: {fragment}"), message


def test_invalid_search_space_file_names_that_file(tmp_path):
    (tmp_path / "space.yaml").write_text(
        "a: {_type: choice, _value: [1]}\nlr: {_type: randint, _value: [5, 1]}\n"
    )
    (tmp_path / "space.json").write_text('{"lr": {"_type": "choice", "_value": []}}')
    tail = "trial_command: x\ntuner: {name: Random}\n"
    message = load_error(write(tmp_path, "search_space_file: space.yaml\n" + tail))
    assert message.startswith(
        f"{(tmp_path / 'space.yaml').resolve()}:2:5: search_space_file.lr: randint needs lower < upper"
    )
    message = load_error(write(tmp_path, "search_space_file: space.json\n" + tail))
    assert message.startswith(
        f"{(tmp_path / 'space.json').resolve()}: search_space_file.lr: choice needs a non-empty list"
    )


def test_search_space_error_without_a_parameter_path_points_at_the_space(tmp_path):
    path = write(
        tmp_path,
        "search_space:\n  '': {_type: choice, _value: [1]}\ntrial_command: x\ntuner: {name: Random}\n",
    )
    assert load_error(path).startswith(f"{path}:2:3: search_space: invalid search space: ")


def test_a_platform_whose_extra_is_missing_is_refused_with_the_install_command(
    tmp_path, monkeypatch
):
    from asyncnni.training import platforms

    missing = platforms.Platform(
        "faraway", "faraway", "Faraway", requires=("no_such_module_here",), extra="faraway"
    )
    monkeypatch.setitem(platforms.PLATFORMS, "faraway", missing)
    message = load_error(write(tmp_path, BASE + "training_service:\n  platform: faraway\n"))
    assert message.startswith(f"{tmp_path / 'exp.yaml'}:7:13: training_service.platform: ")
    assert "needs no_such_module_here" in message
    assert "pip install 'asyncnni[faraway]'" in message
