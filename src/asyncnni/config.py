"""Experiment YAML -> typed :class:`ExperimentConfig`.

The keys are NNI v2's, in snake_case, each also accepted in camelCase (``trialConcurrency``);
``multiThread`` is accepted for ``async_dispatcher``. An NNI v1 config (``authorName``,
``trainingServicePlatform``, ``trial: {command, ...}``) is converted first, as NNI's own
``to_v2`` converts it (see :mod:`asyncnni.config_v1`); the config's ``notes`` say what was
converted. Relative paths are relative to the YAML file (to ``base_dir`` for
:func:`config_from_dict`). Durations take ``30s``, ``10m``, ``2h``, ``1d`` or a number of
seconds.

Everything is checked before anything starts. Every mistake raises
:class:`~asyncnni.errors.ConfigError` with the message ``FILE:LINE:COLUMN: key.path: what is
wrong``, where line and column (1-based) are those of the offending node (for a missing key,
of the map that lacks it). Unknown keys are all reported at once, one line each. A config
built from a plain dict has no positions: its messages read ``key.path: what is wrong``.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import json
import logging
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.scalarbool import ScalarBoolean

from . import config_v1
from .errors import ConfigError, SearchSpaceError

log = logging.getLogger(__name__)

__all__ = [
    "DispatcherConfig",
    "ExperimentConfig",
    "PluginConfig",
    "SharedStorageConfig",
    "TrainingServiceConfig",
    "config_from_dict",
    "load_config",
    "parse_duration",
]


@dataclass
class PluginConfig:
    """A tuner, assessor or advisor: a built-in one by ``name``, or a user's class.

    A user's class is ``class_name`` inside ``code_directory / class_file_name``, or a dotted
    ``class_name: pkg.module.Class`` (importable, with ``code_directory`` put on sys.path).
    Exactly one of ``name`` and ``class_name`` is set; ``code_directory`` is absolute.
    """

    name: str | None = None
    class_name: str | None = None
    code_directory: Path | None = None
    class_file_name: str | None = None
    class_args: dict = field(default_factory=dict)


@dataclass
class TrialLauncherConfig:
    """How the local service starts trial jobs: ``plain`` (a new process each) or ``fork``
    (forked from a template with ``preload`` imported; see asyncnni.training.launcher)."""

    mode: str = "plain"
    preload: list[str] = field(default_factory=list)


@dataclass
class TrainingServiceConfig:
    """Where trials run: ``platform`` names a training service (see asyncnni.training)."""

    platform: str = "local"
    gpu_indices: list[int] | None = None
    max_trial_number_per_gpu: int = 1
    use_active_gpu: bool = False
    # platform ray: the cluster (None: a local Ray for the run), each task's resources
    # (cpu, gpu, memory, custom names -> amounts) and Ray's job-level runtime_env
    address: str | None = None
    resources_per_trial: dict[str, float] | None = None
    runtime_env: dict | None = None
    trial_launcher: TrialLauncherConfig | None = None  # None: plain starts
    # platform simulated (asyncnni.training.simulated)
    function: str | None = None  # pkg.module:name
    cost_per_unit: float | None = None  # simulated seconds per budget unit
    max_budget: float | None = None  # the budget of a parameter set without TRIAL_BUDGET


@dataclass
class SharedStorageConfig:
    """A folder that every trial sees (``ASYNCNNI_SHARED_DIR``), e.g. for weight sharing.

    asyncnni uses ``local_mount_point`` as it is (mount it yourself); NNI's other keys are
    accepted and kept so that an NNI config loads unchanged.
    """

    local_mount_point: Path
    storage_type: str | None = None  # NFS, AzureBlob
    remote_mount_point: str | None = None
    local_mounted: str | None = None  # usermount, nnimount, nomount
    nfs_server: str | None = None
    exported_directory: str | None = None
    storage_account_name: str | None = None
    storage_account_key: str | None = None
    container_name: str | None = None
    resource_group_name: str | None = None


@dataclass
class DispatcherConfig:
    """Where the dispatcher listens. ``bind`` None: an ipc socket in the experiment folder.
    A ``tcp://HOST:PORT`` bind (port 0: any free one) is a CURVE server unless ``insecure``
    (allowed on a loopback host only); ``advertise`` is the address trials are told to
    connect to (default: the bind's, with this machine's name for a wildcard host)."""

    bind: str | None = None
    advertise: str | None = None
    insecure: bool = False


def default_working_directory() -> Path:
    """Where experiments live by default: ``$ASYNCNNI_HOME`` or ``~/asyncnni-experiments``."""
    home = os.environ.get("ASYNCNNI_HOME")
    return Path(home).expanduser().resolve() if home else Path.home() / "asyncnni-experiments"


@dataclass
class ExperimentConfig:
    """A validated experiment. Paths are absolute; durations are seconds.

    ``search_space`` holds plain Python values (dict, list, str, int, float, bool), exactly
    as written. An ``advisor`` (NNI 1.x/2.x: Hyperband, BOHB) is a tuner that also decides
    how long trials train, as in NNI 3.0: given one, ``tuner`` is that same plug-in.
    """

    search_space: dict
    trial_command: str
    trial_code_directory: Path
    tuner: PluginConfig
    trial_concurrency: int = 1
    experiment_name: str | None = None
    trial_gpu_number: int = 0
    max_trial_number: int | None = None  # trial jobs, in every mode (as NNI counts)
    max_configuration_number: int | None = None  # configurations handed out
    max_experiment_duration: float | None = None
    max_trial_duration: float | None = None
    # runs of a parameter set after its first, when its job was lost to the infrastructure
    # (or, with retry_on_failure, when the trial failed by itself)
    max_trial_retries: int = 0
    retry_on_failure: bool = False
    experiment_working_directory: Path = field(default_factory=default_working_directory)
    assessor: PluginConfig | None = None
    advisor: PluginConfig | None = None
    training_service: TrainingServiceConfig = field(default_factory=TrainingServiceConfig)
    shared_storage: SharedStorageConfig | None = None
    dispatcher: DispatcherConfig = field(default_factory=DispatcherConfig)
    multi_phase: bool = False
    async_dispatcher: bool = False
    log_level: str = "info"
    source: Path | None = None
    # what an NNI v1 config's conversion did (empty for a v2 config); not a key one writes
    notes: list[str] = field(default_factory=list, compare=False, repr=False)


# ----------------------------------------------------------------------------- public entry points


def load_config(path: str | Path) -> ExperimentConfig:
    """Read, validate and resolve an experiment YAML; raises ConfigError naming file:line:column."""
    shown = str(path)
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"{shown}: no such file" if not file.exists() else f"{shown}: not a file")
    root = _load_yaml(file, shown, key="")
    if root is None:
        raise ConfigError(f"{shown}:1:1: the file is empty; an experiment config is a map of keys")
    source = file.resolve()
    ctx = _Context(shown, source.parent)
    config = _experiment(_Node(root, "", (0, 0), ctx))
    config.source = source
    return config


def config_from_dict(
    data: Mapping[str, Any], *, base_dir: str | os.PathLike | None = None
) -> ExperimentConfig:
    """The same validation for a config built in Python; relative paths are relative to
    ``base_dir`` (default: the current folder). Path values may be ``str`` or ``Path``."""
    ctx = _Context(
        None, Path(base_dir if base_dir is not None else Path.cwd()).expanduser().resolve()
    )
    return _experiment(_Node(data, "", None, ctx))


def config_to_record(config: ExperimentConfig) -> dict[str, Any]:
    """The config as plain JSON values, as the store keeps it (see config_from_record)."""
    return _record(config)


def config_from_record(record: Mapping[str, Any]) -> ExperimentConfig:
    """The config of a stored experiment, validated again (its files must still exist)."""
    return config_from_dict(_without_unset(record))


def _record(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _record(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name != "notes"
        }
    if isinstance(value, dict):
        return {str(k): _record(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_record(v) for v in value]
    return str(value) if isinstance(value, Path) else value


def _without_unset(value: Any) -> Any:
    """Drop None entries (unset keys) and ``source`` (not a key one writes)."""
    if isinstance(value, Mapping):
        return {k: _without_unset(v) for k, v in value.items() if v is not None and k != "source"}
    return value


_DURATION = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([smhd]?)", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str | int | float) -> float:
    """Seconds from ``"30s"``, ``"10m"``, ``"2h"``, ``"1d"`` (decimals allowed, e.g. ``"1.5h"``)
    or a number of seconds. The result is finite and positive; anything else is a ValueError."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like 30s, 10m, 2h, 1d")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.fullmatch(str(value).strip())
        if match is None:
            raise ValueError(f"{value!r} is not a duration; write e.g. 30s, 10m, 2h, 1d or seconds")
        seconds = float(match[1]) * _UNIT_SECONDS[match[2].lower()]
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"a duration must be positive and finite, not {value!r}")
    return seconds


# ----------------------------------------------------------------------------- located nodes


@dataclass(frozen=True)
class _Context:
    file: str | None  # as the user named it, for messages
    base_dir: Path  # relative paths start here

    def where(self, pos: tuple[int, int] | None) -> str:
        """``FILE:LINE:COLUMN`` (1-based), as much of it as is known; "" for a plain dict."""
        parts = []
        if self.file is not None or pos is not None:
            parts.append(self.file or "<config>")
        if pos is not None:
            parts += [str(pos[0] + 1), str(pos[1] + 1)]
        return ":".join(parts)

    def error(self, pos: tuple[int, int] | None, path: str, what: str) -> ConfigError:
        where = self.where(pos)
        return ConfigError(f"{where + ': ' if where else ''}{path + ': ' if path else ''}{what}")


class _Node:
    """A config value with its key path and (when it came from YAML) its 0-based position."""

    __slots__ = ("value", "path", "pos", "ctx")

    def __init__(self, value: Any, path: str, pos: tuple[int, int] | None, ctx: _Context) -> None:
        self.value = value
        self.path = path
        self.pos = pos
        self.ctx = ctx

    def fail(self, what: str) -> ConfigError:
        return self.ctx.error(self.pos, self.path, what)

    def item(self, index: int) -> _Node:
        lc = getattr(self.value, "lc", None)
        pos = lc.item(index) if lc is not None else self.pos
        return _Node(self.value[index], f"{self.path}[{index}]", pos, self.ctx)

    def entries(self) -> Iterable[tuple[Any, tuple[int, int] | None, _Node]]:
        """(key, key position, value node) for each entry of a map node."""
        lc = getattr(self.value, "lc", None)
        for key, value in self.value.items():
            key_pos = lc.key(key) if lc is not None else self.pos
            # a null value has no token of its own: ruamel reports the next one
            value_pos = lc.value(key) if lc is not None and value is not None else key_pos
            path = f"{self.path}.{key}" if self.path else str(key)
            yield key, key_pos, _Node(value, path, value_pos, self.ctx)

    def get(self, key: Any) -> _Node:
        """The node of one entry of a map node."""
        return next(child for k, _, child in self.entries() if k == key)

    def child_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key


def _load_yaml(file: Path, shown: str, key: str, named_at: str = "") -> Any:
    """Round-trip YAML (every map and list keeps its line and column)."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(
            f"{shown}: {key + ': ' if key else ''}cannot read: {err}{named_at}"
        ) from err
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{shown}:{mark.line + 1}:{mark.column + 1}" if mark else shown
        problem = " ".join(str(err.problem or err.context or "").split())
        raise ConfigError(
            f"{where}: {key + ': ' if key else ''}invalid YAML: {problem}{named_at}"
        ) from None


# ----------------------------------------------------------------------------- keys of a map


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.capitalize() for part in rest)


# NNI v1 keys inside an otherwise v2 file (a v1 file is converted whole); each names its v2 key
_NNI_V1_KEYS = {
    "builtinTunerName": "name",
    "builtinAssessorName": "name",
    "builtinAdvisorName": "name",
    "codeDir": "code_directory",
}


def _spellings(names: Iterable[str], aliases: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every accepted spelling of a section's keys -> the key's snake_case name."""
    spelling: dict[str, str] = {}
    for name in names:
        spelling[name] = spelling[_camel(name)] = name
    for alias, name in (aliases or {}).items():
        spelling[alias] = spelling[_camel(alias)] = name
    return spelling


def _entries(
    node: _Node, names: Iterable[str], aliases: Mapping[str, str] | None = None
) -> dict[str, _Node]:
    """The entries of a map node keyed by their snake_case name.

    Each name is accepted in snake_case and camelCase; ``aliases`` maps further spellings
    to a name. Unknown keys (with the closest valid one suggested), non-string keys and a
    name given twice (in two spellings) are errors at the key's position.
    """
    if not isinstance(node.value, Mapping):
        raise node.fail(f"must be a map of keys, not {_describe(node.value)}")
    spelling = _spellings(names, aliases)
    found: dict[str, _Node] = {}
    written: dict[str, str] = {}
    for key, key_pos, child in node.entries():
        if not isinstance(key, str):
            raise node.ctx.error(key_pos, node.path, f"keys must be strings, not {_describe(key)}")
        name = spelling.get(key)
        if name is None:
            raise node.ctx.error(key_pos, child.path, _unknown_key(key, spelling))
        if name in found:
            raise node.ctx.error(
                key_pos, child.path, f"given twice, as {written[name]!r} and as {key!r}; keep one"
            )
        found[name] = child
        written[name] = key
    return found


def _unknown_key(key: str, spelling: Mapping[str, str]) -> str:
    if key in _NNI_V1_KEYS:
        return f"unknown key (an NNI v1 key; write {_NNI_V1_KEYS[key]} instead)"
    flat = {s.replace("_", "").lower(): s for s in spelling}
    guess = flat.get(key.replace("_", "").replace("-", "").lower())
    if guess is None:
        close = difflib.get_close_matches(key, list(spelling), n=1, cutoff=0.6)
        guess = close[0] if close else None
    if guess is not None:
        return f"unknown key; did you mean {guess!r}?"
    valid = ", ".join(sorted(set(spelling.values())))
    return f"unknown key; valid keys here: {valid}"


def _missing(node: _Node, name: str, what: str = "required key missing") -> ConfigError:
    return node.ctx.error(node.pos, node.child_path(name), what)


# ----------------------------------------------------------------------------- scalar values


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool | ScalarBoolean):
        return f"{str(bool(value)).lower()} (a boolean)"
    if isinstance(value, str):
        return f"the string {str(value)!r}"
    if isinstance(value, Mapping):
        return "a map"
    if isinstance(value, list | tuple):
        return "a list"
    return repr(_plain(value))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool | ScalarBoolean)


def _int(node: _Node, minimum: int) -> int:
    """An integer >= ``minimum`` (0 or 1); YAML's booleans are not integers here."""
    kind = "a positive integer" if minimum > 0 else "a non-negative integer"
    if not _is_int(node.value) or node.value < minimum:
        raise node.fail(f"must be {kind}, not {_describe(node.value)}")
    return int(node.value)


def _bool(node: _Node) -> bool:
    if not isinstance(node.value, bool | ScalarBoolean):
        raise node.fail(f"must be true or false, not {_describe(node.value)}")
    return bool(node.value)


def _str(node: _Node, choices: Iterable[str] | None = None) -> str:
    if not isinstance(node.value, str) or not node.value.strip():
        raise node.fail(f"must be a non-empty string, not {_describe(node.value)}")
    value = str(node.value)
    if choices is not None:
        allowed = list(choices)
        if value.lower() not in allowed:
            raise node.fail(f"{value!r} is not one of {', '.join(allowed)}")
        return value.lower()
    return value


def _path(node: _Node, must_be_dir: bool = False) -> Path:
    value = node.value
    if not isinstance(value, str | os.PathLike) or not str(value).strip():
        raise node.fail(f"must be a path, not {_describe(value)}")
    path = (node.ctx.base_dir / Path(value).expanduser()).resolve()
    if must_be_dir and not path.is_dir():
        raise node.fail(f"no such folder {str(path)!r}")
    return path


def _duration(node: _Node) -> float:
    value = node.value
    if not isinstance(value, str | int | float) or isinstance(value, bool | ScalarBoolean):
        raise node.fail(f"must be a duration such as 30s, 10m, 2h, 1d, not {_describe(value)}")
    try:
        return parse_duration(_plain(value))
    except ValueError as err:
        raise node.fail(str(err)) from None


def _plain(value: Any) -> Any:
    """ruamel's round-trip types (CommentedMap, ScalarFloat, ...) as plain Python values."""
    if isinstance(value, Mapping):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool | ScalarBoolean):
        return bool(value)
    for kind in (str, int, float):
        if isinstance(value, kind):
            return kind(value)
    return value


def _optional(found: Mapping[str, _Node], name: str, parse: Callable[[_Node], Any]) -> Any:
    """``parse`` of the entry, or None when it is absent or null."""
    node = found.get(name)
    return None if node is None or node.value is None else parse(node)


# ----------------------------------------------------------------------------- sections

_EXPERIMENT_KEYS = (
    "experiment_name",
    "search_space",
    "search_space_file",
    "trial_command",
    "trial_code_directory",
    "trial_concurrency",
    "trial_gpu_number",
    "max_trial_number",
    "max_configuration_number",
    "max_experiment_duration",
    "max_trial_duration",
    "max_trial_retries",
    "retry_on_failure",
    "experiment_working_directory",
    "tuner",
    "assessor",
    "advisor",
    "training_service",
    "shared_storage",
    "dispatcher",
    "multi_phase",
    "async_dispatcher",
    "log_level",
)
_EXPERIMENT_ALIASES = {"multi_thread": "async_dispatcher"}
_LOG_LEVELS = ("trace", "debug", "info", "warning", "error", "fatal")
_PLUGIN_KEYS = ("name", "class_name", "code_directory", "class_file_name", "class_args")
_SHARED_STORAGE_STRINGS = (
    "storage_type",
    "remote_mount_point",
    "nfs_server",
    "exported_directory",
    "storage_account_name",
    "storage_account_key",
    "container_name",
    "resource_group_name",
)
_SHARED_STORAGE_KEYS = ("local_mount_point", "local_mounted", *_SHARED_STORAGE_STRINGS)
_DISPATCHER_KEYS = ("bind", "advertise", "insecure")


@dataclass(frozen=True)
class _Section:
    """The keys of one map of the config, and the maps nested under some of them."""

    names: tuple[str, ...] | Callable[[Any], tuple[str, ...] | None]  # None: left to the parse
    aliases: Mapping[str, str] = field(default_factory=dict)
    children: Mapping[str, _Section] = field(default_factory=dict)


_PLUGIN = _Section(_PLUGIN_KEYS)
_SCHEMA = _Section(
    _EXPERIMENT_KEYS,
    _EXPERIMENT_ALIASES,
    {
        "tuner": _PLUGIN,
        "assessor": _PLUGIN,
        "advisor": _PLUGIN,
        "training_service": _Section(lambda value: _platform_keys(value)),
        "shared_storage": _Section(_SHARED_STORAGE_KEYS),
        "dispatcher": _Section(_DISPATCHER_KEYS),
    },
)


def _platform_keys(value: Mapping) -> tuple[str, ...] | None:
    """The keys of a training_service map, which depend on its platform (None when the
    platform is not one to be had: the parse says so)."""
    from .training import platforms as training

    platform = value.get("platform", "local")
    try:
        entry = training.check_platform(str(platform).lower())
    except training.PlatformUnavailable:
        return None
    return ("platform", *entry.options)


def _unknown_keys(node: _Node, section: _Section) -> list[str]:
    """One error line per unknown key in ``node`` and the maps below it (search spaces and
    class_args are free-form); wrong types are left for the parse to report."""
    if not isinstance(node.value, Mapping):
        return []
    names = section.names(node.value) if callable(section.names) else section.names
    if names is None:
        return []
    spelling = _spellings(names, section.aliases)
    lines = []
    for key, key_pos, child in node.entries():
        if not isinstance(key, str):
            continue
        name = spelling.get(key)
        if name is None:
            lines.append(str(node.ctx.error(key_pos, child.path, _unknown_key(key, spelling))))
        elif name in section.children:
            lines += _unknown_keys(child, section.children[name])
    return lines


def _experiment(root: _Node) -> ExperimentConfig:
    notes: list[str] = []
    if config_v1.is_v1(root.value):
        converted, notes = config_v1.to_v2(root)
        root = _Node(converted, root.path, root.pos, root.ctx)
        where = root.ctx.where(root.pos) or "config"
        log.warning(
            "%s: an NNI v1 config, converted as NNI's to_v2 does: %s", where, "; ".join(notes)
        )
    unknown = _unknown_keys(root, _SCHEMA)
    if unknown:
        raise ConfigError("\n".join(unknown))
    found = _entries(root, _EXPERIMENT_KEYS, _EXPERIMENT_ALIASES)
    if "trial_command" not in found:
        raise _missing(root, "trial_command")
    tuner = _optional(found, "tuner", lambda n: _plugin(n, "tuner"))
    # an advisor is a tuner (as in NNI 3.0), so its built-ins are the tuners
    advisor = _optional(found, "advisor", lambda n: _plugin(n, "advisor", builtins="tuner"))
    assessor = _optional(found, "assessor", lambda n: _plugin(n, "assessor"))
    if advisor is not None:
        for other, given in (("tuner", tuner), ("assessor", assessor)):
            if given is not None:
                raise found[other].fail(
                    "an advisor replaces the tuner and the assessor; give one or the other"
                )
        tuner = advisor
    elif tuner is None:
        raise _missing(root, "tuner", "required key missing (or give an advisor)")
    # the space of a user's tuner is its own business (NNI's naive test sends {"x": [1, 100]})
    builtin = (advisor or tuner).name is not None  # type: ignore[union-attr]
    kwargs: dict[str, Any] = {
        "search_space": _search_space(root, found, check=builtin),
        "trial_command": _str(found["trial_command"]),
        "trial_code_directory": (
            _path(found["trial_code_directory"], must_be_dir=True)
            if "trial_code_directory" in found
            else root.ctx.base_dir
        ),
        "tuner": tuner,
        "assessor": assessor,
        "advisor": advisor,
        "experiment_name": _optional(found, "experiment_name", _str),
        "max_trial_number": _optional(found, "max_trial_number", lambda n: _int(n, 1)),
        "max_configuration_number": _optional(
            found, "max_configuration_number", lambda n: _int(n, 1)
        ),
        "max_experiment_duration": _optional(found, "max_experiment_duration", _duration),
        "max_trial_duration": _optional(found, "max_trial_duration", _duration),
        "shared_storage": _optional(found, "shared_storage", _shared_storage),
    }
    # keys with a non-null default: present means given, null is a mistake
    given = {
        "trial_concurrency": lambda n: _int(n, 1),
        "trial_gpu_number": lambda n: _int(n, 0),
        "max_trial_retries": lambda n: _int(n, 0),
        "retry_on_failure": _bool,
        "experiment_working_directory": _path,
        "training_service": _training_service,
        "dispatcher": _dispatcher,
        "multi_phase": _bool,
        "async_dispatcher": _bool,
        "log_level": lambda n: _str(n, _LOG_LEVELS),
    }
    kwargs.update({name: parse(found[name]) for name, parse in given.items() if name in found})
    return ExperimentConfig(**kwargs, notes=notes)


def _search_space(root: _Node, found: Mapping[str, _Node], check: bool) -> dict:
    inline, file = found.get("search_space"), found.get("search_space_file")
    if inline is not None and file is not None:
        # point at whichever comes later: that is the extra one
        second = max((inline, file), key=lambda n: n.pos or (0, 0))
        raise second.fail("give search_space or search_space_file, not both")
    if inline is None and file is None:
        raise _missing(root, "search_space", "required key missing (or give search_space_file)")
    node = inline if inline is not None else _search_space_file(file)
    if not isinstance(node.value, Mapping):
        raise node.fail(
            f"must be a map of parameter names to {{_type, _value}}, not {_describe(node.value)}"
        )
    space = _plain(node.value)
    if check:
        _check_search_space(node, space)
    return space


def _search_space_file(node: _Node) -> _Node:
    """The file's content as a node located in that file (JSON, or YAML for other suffixes)."""
    path = _path(node)
    where = node.ctx.where(node.pos)
    named_at = f" (search_space_file at {where})" if where else ""
    if not path.is_file():
        raise node.fail(f"no such file {str(path)!r}")
    key = "search_space_file"
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"{path}: {key}: cannot read: {err}{named_at}") from err
        except json.JSONDecodeError as err:
            raise ConfigError(
                f"{path}:{err.lineno}:{err.colno}: {key}: invalid JSON: {err.msg}{named_at}"
            ) from None
        pos = None  # json keeps no positions: its errors name the file only
    else:
        data = _load_yaml(path, str(path), key, named_at)
        pos = (0, 0)
    return _Node(data, key, pos, _Context(str(path), path.parent))


def _check_search_space(node: _Node, space: dict) -> None:
    """Validate the space's shape; an error points at the parameter it names."""
    from .search_space import SearchSpace  # numpy: loaded only when a config is checked

    try:
        SearchSpace(space)
    except SearchSpaceError as err:
        # search_space messages start with the parameter's path, e.g. "optimizer/sgd/lr: ..."
        param_path, _, what = str(err).partition(": ")
        located = _locate(node, param_path)
        if located is None:
            raise node.fail(f"invalid search space: {err}") from None
        raise located.fail(what) from None


def _locate(node: _Node, param_path: str) -> _Node | None:
    """The node of a search-space parameter named by its path, or None when it is not there.

    A path segment is a key of a map or, below a choice, the ``_name`` (or the index) of one
    of its nested options.
    """
    for segment in param_path.split("/"):
        value = node.value
        if isinstance(value, Mapping) and segment in value:
            node = node.get(segment)
            continue
        options = node.get("_value") if isinstance(value, Mapping) and "_value" in value else None
        if options is None or not isinstance(options.value, list):
            return None
        matches = [
            i
            for i, option in enumerate(options.value)
            if str(i) == segment or (isinstance(option, Mapping) and option.get("_name") == segment)
        ]
        if not matches:
            return None
        node = options.item(matches[0])
    return node


def _builtin_names(kind: str) -> list[str] | None:
    """Names of the built-in plug-ins of this kind, or None when there is no such registry."""
    try:
        package = importlib.import_module(f"asyncnni.{kind}s")
    except ModuleNotFoundError as err:
        if err.name != f"asyncnni.{kind}s":
            raise
        return None
    names = getattr(package, "names", None)
    return names() if names is not None else None


def _plugin(node: _Node, kind: str, builtins: str | None = None) -> PluginConfig:
    found = _entries(node, _PLUGIN_KEYS)
    name = _optional(found, "name", _str)
    class_name = _optional(found, "class_name", _str)
    if name is None and class_name is None:
        raise node.fail(f"give name (a built-in {kind}) or class_name (your own {kind} class)")
    if name is not None and class_name is not None:
        raise found["class_name"].fail(f"give name (a built-in {kind}) or class_name, not both")
    if name is not None:
        _check_builtin(found["name"], kind, name, builtins or kind)
    code_directory = _optional(found, "code_directory", lambda n: _path(n, must_be_dir=True))
    class_file_name = _optional(found, "class_file_name", _str)
    if class_file_name is not None:
        if code_directory is None:
            raise _missing(node, "code_directory", "required with class_file_name")
        if not (code_directory / class_file_name).is_file():
            raise found["class_file_name"].fail(
                f"no file {class_file_name!r} in {str(code_directory)!r}"
            )
    elif class_name is not None and "." not in class_name:
        raise found["class_name"].fail(
            "give class_file_name (and code_directory) too, or a dotted path pkg.module.Class"
        )
    class_args = _optional(found, "class_args", _class_args) or {}
    return PluginConfig(name, class_name, code_directory, class_file_name, class_args)


def _check_builtin(node: _Node, kind: str, name: str, builtins: str) -> None:
    known = _builtin_names(builtins)
    if known is None:
        raise node.fail(f"there are no built-in {kind}s; give class_name for your own {kind}")
    if name.lower() in known:
        return
    why = getattr(importlib.import_module(f"asyncnni.{kind}s"), "unavailable", lambda _: None)(name)
    if why is not None:
        raise node.fail(f"built-in {kind} {name!r} is not available: {why}")
    # only close names: 'MetisTuner' must not suggest 'pbttuner'
    close = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.75)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise node.fail(f"unknown built-in {kind} {name!r}; {hint}built-in {kind}s: {', '.join(known)}")


def _class_args(node: _Node) -> dict:
    if not isinstance(node.value, Mapping):
        raise node.fail(f"must be a map of argument names to values, not {_describe(node.value)}")
    for key, key_pos, child in node.entries():
        if not isinstance(key, str) or not key.isidentifier():
            raise node.ctx.error(
                key_pos, child.path, "an argument name must be a Python identifier"
            )
    return _plain(node.value)


_PLATFORMS_NOT_YET = (
    "remote",
    "openpai",
    "aml",
    "kubeflow",
    "frameworkcontroller",
    "adl",
    "dlc",
    "hybrid",
)


def _training_service(node: _Node) -> TrainingServiceConfig:
    from .training import platforms as training  # the registry only: no service is imported

    given = isinstance(node.value, Mapping) and "platform" in node.value
    platform_node = node.get("platform") if given else None
    platform = _str(platform_node).lower() if platform_node is not None else "local"
    if platform in _PLATFORMS_NOT_YET:
        raise platform_node.fail(  # type: ignore[union-attr]
            f"platform {platform!r} is not implemented; available: "
            + ", ".join(sorted(training.PLATFORMS))
        )
    try:
        entry = training.check_platform(platform)
    except training.PlatformUnavailable as err:
        raise platform_node.fail(str(err)) from None  # type: ignore[union-attr]
    found = _entries(node, ("platform", *entry.options))
    config = TrainingServiceConfig(platform=platform)
    config.gpu_indices = _optional(found, "gpu_indices", _gpu_indices)
    if "max_trial_number_per_gpu" in found:
        config.max_trial_number_per_gpu = _int(found["max_trial_number_per_gpu"], 1)
    if "use_active_gpu" in found:
        config.use_active_gpu = _bool(found["use_active_gpu"])
    config.address = _optional(found, "address", _str)
    config.resources_per_trial = _optional(found, "resources_per_trial", _resources)
    if "runtime_env" in found:
        if not isinstance(found["runtime_env"].value, Mapping):
            raise found["runtime_env"].fail("must be a map (Ray's runtime_env)")
        config.runtime_env = _plain(found["runtime_env"].value)
    if "trial_launcher" in found:
        config.trial_launcher = _trial_launcher(found["trial_launcher"])
    config.function = _optional(found, "function", _function)
    config.cost_per_unit = _optional(found, "cost_per_unit", _positive)
    config.max_budget = _optional(found, "max_budget", _positive)
    return config


def _trial_launcher(node: _Node) -> TrialLauncherConfig:
    found = _entries(node, ("mode", "preload"))
    config = TrialLauncherConfig()
    if "mode" in found:
        config.mode = _str(found["mode"], ("plain", "fork"))
    preload = found.get("preload")
    if preload is not None and preload.value is not None:
        if not isinstance(preload.value, list):
            raise preload.fail(f"must be a list of module names, not {_describe(preload.value)}")
        for i in range(len(preload.value)):
            item = preload.item(i)
            name = _str(item)
            if not all(part.isidentifier() for part in name.split(".")):
                raise item.fail(f"{name!r} is not a module name")
            config.preload.append(name)
    return config


def _resources(node: _Node) -> dict[str, float]:
    """Ray task resources: names to non-negative amounts."""
    if not isinstance(node.value, Mapping):
        raise node.fail(f"must be a map such as {{cpu: 2, gpu: 1}}, not {_describe(node.value)}")
    resources = {}
    for key, key_pos, child in node.entries():
        amount = child.value
        if not isinstance(key, str) or isinstance(amount, bool | ScalarBoolean):
            raise node.ctx.error(key_pos, child.path, "must be a resource name and an amount")
        if not isinstance(amount, int | float) or not math.isfinite(amount) or amount < 0:
            raise child.fail(f"must be a non-negative number, not {_describe(amount)}")
        resources[key] = _plain(amount)
    return resources


def _function(node: _Node) -> str:
    text = _str(node)
    module, _, name = text.partition(":")
    if not module or not name.isidentifier():
        raise node.fail(f"must be 'pkg.module:name', not {text!r}")
    return text


def _positive(node: _Node) -> float:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise node.fail(f"must be a positive number, not {_describe(value)}")
    return float(value)


def _gpu_indices(node: _Node) -> list[int]:
    """A list of GPU indices; NNI also takes one index, or a string ``"0,1"``."""
    value = node.value
    if _is_int(value):
        return [_int(node, 0)]
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
        if not all(re.fullmatch("[0-9]+", p) for p in parts):
            raise node.fail(f"must be GPU indices such as [0, 1] or '0,1', not {_describe(value)}")
        indices = [int(p) for p in parts]
    elif isinstance(value, list):
        indices = [_int(node.item(i), 0) for i in range(len(value))]
    else:
        raise node.fail(f"must be a list of GPU indices such as [0, 1], not {_describe(value)}")
    if len(set(indices)) != len(indices):
        raise node.fail(f"GPU indices repeat: {indices}")
    return indices


_TCP_ADDRESS = re.compile(r"tcp://(\[[0-9a-fA-F:.]+\]|[*]|[A-Za-z0-9_.-]+)(?::([0-9]+|[*]))?")


def _address(node: _Node, port_required: bool) -> tuple[str, str | None]:
    """An ``ipc://PATH`` or ``tcp://HOST:PORT`` address, and its tcp host (None for ipc)."""
    value = _str(node)
    if value.startswith("ipc://") and len(value) > len("ipc://"):
        return value, None
    match = _TCP_ADDRESS.fullmatch(value)
    if match is None or (port_required and match[2] is None):
        raise node.fail(
            f"{value!r} is not an address; write tcp://HOST:PORT (port 0: any free port) or ipc://PATH"
        )
    if match[2] not in (None, "*") and int(match[2]) > 65535:
        raise node.fail(f"port {match[2]} is out of range (0-65535)")
    return value, match[1].strip("[]")


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _dispatcher(node: _Node) -> DispatcherConfig:
    found = _entries(node, _DISPATCHER_KEYS)
    config = DispatcherConfig()
    host = None
    if "bind" in found:
        config.bind, host = _address(found["bind"], port_required=True)
    if "advertise" in found:
        if host is None:
            raise found["advertise"].fail("advertise needs a tcp:// bind (ipc is for this machine)")
        config.advertise, advertised_host = _address(found["advertise"], port_required=False)
        if advertised_host is None or advertised_host == "*":
            raise found["advertise"].fail(
                "must be tcp://HOST[:PORT], the address trials connect to"
            )
    if "insecure" in found:
        config.insecure = _bool(found["insecure"])
        if config.insecure and host is not None and not is_loopback(host):
            raise found["insecure"].fail(
                f"insecure: true (no CURVE) is allowed on a loopback bind only, not on "
                f"{config.bind!r}: on any other address anyone who reaches the port could "
                f"send results and read parameters"
            )
    return config


def _shared_storage(node: _Node) -> SharedStorageConfig:
    found = _entries(node, _SHARED_STORAGE_KEYS)
    if "local_mount_point" not in found:
        raise _missing(node, "local_mount_point")
    return SharedStorageConfig(
        local_mount_point=_path(found["local_mount_point"]),
        local_mounted=_optional(
            found, "local_mounted", lambda n: _str(n, ("usermount", "nnimount", "nomount"))
        ),
        **{name: _optional(found, name, _str) for name in _SHARED_STORAGE_STRINGS},
    )
