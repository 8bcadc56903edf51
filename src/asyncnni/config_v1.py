"""NNI v1 experiment configs (``authorName``, ``trainingServicePlatform``, ``trial: {...}``)
converted to the v2 keys, the way NNI's own ``to_v2`` converts them.

The conversion works on located config nodes (see :mod:`asyncnni.config`): every converted
entry keeps the line and column where the user wrote it, so later errors still point into
the file. It returns the v2 map and one note per conversion (``maxTrialNum ->
max_trial_number``, ``authorName dropped: no meaning here``). Keys it does not know are
passed on unchanged, for the v2 check to report (all of them at once).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

# A file is v1 when it has one of these (NNI itself looks for trainingServicePlatform).
V1_MARKERS = frozenset(
    {
        "trainingServicePlatform",
        "authorName",
        "searchSpacePath",
        "maxExecDuration",
        "maxTrialNum",
        "trial",
        "logDir",
        "localConfig",
    }
)

# v1 key -> v2 key (snake_case), at the top level
_RENAMED = {
    "experimentName": "experiment_name",
    "trialConcurrency": "trial_concurrency",
    "maxExecDuration": "max_experiment_duration",
    "maxTrialDuration": "max_trial_duration",
    "maxTrialNum": "max_trial_number",
    "searchSpacePath": "search_space_file",
    "multiPhase": "multi_phase",
    "multiThread": "async_dispatcher",
    "logDir": "experiment_working_directory",
    "logLevel": "log_level",
    "sharedStorage": "shared_storage",
}
# v1 keys accepted and dropped: they have no meaning here (NNI's to_v2 drops most too)
_NO_MEANING = {
    "authorName": "NNI's to_v2 drops it too",
    "description": "NNI's to_v2 drops it too",
    "versionCheck": "there is no NNI manager whose version to check",
    "logCollection": "trial logs are always in the experiment folder",
    "debug": "use log_level: debug",
    "nniManagerIp": "trials reach the dispatcher over ipc:// on the local platform",
}
# sections of the platforms asyncnni does not run (the platform itself is refused)
_OTHER_PLATFORM_SECTIONS = frozenset(
    {
        "remoteConfig",
        "machineList",
        "paiConfig",
        "paiYarnConfig",
        "kubeflowConfig",
        "frameworkcontrollerConfig",
        "amlConfig",
        "dltsConfig",
        "hybridConfig",
    }
)
_TRIAL = {
    "command": "trial_command",
    "codeDir": "trial_code_directory",
    "gpuNum": "trial_gpu_number",
}
_LOCAL = {
    "gpuIndices": "gpu_indices",
    "maxTrialNumPerGpu": "max_trial_number_per_gpu",
    "useActiveGpu": "use_active_gpu",
}
_ALGO = {
    "codeDir": "code_directory",
    "classFileName": "class_file_name",
    "className": "class_name",
    "classArgs": "class_args",
}


class Located(Protocol):
    """What the conversion needs of a config node (asyncnni.config._Node)."""

    value: Any
    path: str
    pos: tuple[int, int] | None

    def entries(self) -> Any: ...

    def fail(self, what: str) -> Exception: ...


class _Positions:
    """ruamel's ``lc`` interface (``key``, ``value``) for a map built here."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[int, int] | None] = {}
        self.values: dict[str, tuple[int, int] | None] = {}

    def key(self, key: str) -> tuple[int, int] | None:
        return self.keys[key]

    def value(self, key: str) -> tuple[int, int] | None:
        return self.values[key]


class ConvertedMap(dict):
    """A v2 map built from v1 entries; each entry remembers where it was written."""

    def __init__(self) -> None:
        super().__init__()
        self.lc = _Positions()

    def put(self, key: str, node: Located, key_pos: tuple[int, int] | None) -> None:
        self[key] = node.value
        self.lc.keys[key] = key_pos
        self.lc.values[key] = node.pos


def is_v1(value: Any) -> bool:
    return isinstance(value, Mapping) and any(key in V1_MARKERS for key in value)


def to_v2(root: Located) -> tuple[ConvertedMap, list[str]]:
    """The v2 form of a v1 config map, and the notes saying what was converted."""
    out, notes = ConvertedMap(), []
    platform: tuple[Located, tuple[int, int] | None] | None = None
    local: Located | None = None
    for key, key_pos, child in root.entries():
        if key in _RENAMED:
            out.put(_RENAMED[key], child, key_pos)
            notes.append(f"{key} -> {_RENAMED[key]}")
        elif key in _NO_MEANING:
            notes.append(f"{key} dropped: no meaning here ({_NO_MEANING[key]})")
        elif key == "useAnnotation":
            if child.value:
                raise child.fail(
                    "NNI annotations are not supported; call asyncnni's (or nni's) "
                    "get_next_parameter / report_final_result in the trial instead"
                )
            notes.append("useAnnotation: false dropped (the default)")
        elif key == "trainingServicePlatform":
            platform = (child, key_pos)
        elif key == "localConfig":
            local = child
        elif key == "trial":
            _trial(child, out, notes)
        elif key in ("tuner", "assessor", "advisor") and isinstance(child.value, Mapping):
            out.put(key, _At(_algo(child, key, notes), child.pos), key_pos)
        elif key in _OTHER_PLATFORM_SECTIONS:
            notes.append(f"{key} dropped: it configures another platform than local")
        else:  # v2 keys and unknown ones: the v2 check takes them as they are
            out.put(key, child, key_pos)
    if platform is not None or local is not None:
        where = platform[0] if platform is not None else local
        assert where is not None
        service = _training_service(platform, local, notes)
        out.put("training_service", _At(service, where.pos), platform[1] if platform else None)
    return out, notes


class _At:
    """A converted value standing where the v1 entry it came from was written."""

    def __init__(self, value: Any, pos: tuple[int, int] | None) -> None:
        self.value, self.pos = value, pos


def _trial(node: Located, out: ConvertedMap, notes: list[str]) -> None:
    if not isinstance(node.value, Mapping):
        raise node.fail("must be a map with command, codeDir and gpuNum (NNI v1)")
    for key, key_pos, child in node.entries():
        if key in _TRIAL:
            out.put(_TRIAL[key], child, key_pos)
            notes.append(f"trial.{key} -> {_TRIAL[key]}")
        elif key == "nasMode":
            notes.append("trial.nasMode dropped: NNI's to_v2 drops it too")
        else:
            notes.append(f"trial.{key} dropped: no meaning on the local platform")


def _algo(node: Located, kind: str, notes: list[str]) -> ConvertedMap:
    builtin = f"builtin{kind.title()}Name"
    out = ConvertedMap()
    for key, key_pos, child in node.entries():
        if key == builtin:
            out.put("name", child, key_pos)
            notes.append(f"{kind}.{key} -> {kind}.name")
        elif key in _ALGO:
            out.put(_ALGO[key], child, key_pos)
        elif key == "includeIntermediateResults":
            notes.append(f"{kind}.{key} dropped: NNI's to_v2 drops it too")
        elif key == "gpuIndices":
            notes.append(f"{kind}.{key} dropped: tuners run in the experiment process")
        else:
            out.put(key, child, key_pos)
    return out


def _training_service(
    platform: tuple[Located, tuple[int, int] | None] | None,
    local: Located | None,
    notes: list[str],
) -> ConvertedMap:
    out = ConvertedMap()
    if platform is not None:
        node, key_pos = platform
        if node.value == "pai":  # NNI's v1 name of OpenPAI
            node = _At("openpai", node.pos)
        out.put("platform", node, key_pos)
        notes.append("trainingServicePlatform -> training_service.platform")
    if local is not None:
        if not isinstance(local.value, Mapping):
            raise local.fail("must be a map (gpuIndices, maxTrialNumPerGpu, useActiveGpu)")
        for key, key_pos, child in local.entries():
            out.put(_LOCAL.get(key, key), child, key_pos)
        notes.append("localConfig -> training_service")
    return out
