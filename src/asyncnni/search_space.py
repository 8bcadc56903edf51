"""Search spaces in NNI's JSON language: parse and validate, sample, encode as numeric vectors.

A space maps parameter names to ``{"_type": ..., "_value": ...}``. Every NNI type is known:
``choice`` (whose options may be nested spaces: dicts with a ``_name`` and parameters of their
own), ``randint`` ``[lower, upper)``, ``uniform``, ``quniform``, ``loguniform``,
``qloguniform``, ``normal``, ``qnormal``, ``lognormal``, ``qlognormal``, and for NAS
``layer_choice`` and ``input_choice`` (shape checked here, sampled by NAS tuners).

Parameters are named by their path: ``lr`` at the top, ``optimizer/sgd/lr`` for ``lr`` inside
the option ``sgd`` of the choice ``optimizer``. Every validation error is a SearchSpaceError
whose message starts with that path.

The **encoding** is what model-based tuners work on. A configuration becomes a float vector
with one entry per choice and numeric parameter (nested ones included, NaN where inactive):

* a choice holds its option index (0 .. n-1);
* a numeric parameter holds ``u`` in ``[0, 1]``, the value mapped through its prior's CDF:
  uniform types linearly, log types linearly in log space, normal types through the normal
  CDF, randint as bins of equal width. ``u`` uniform on ``[0, 1]`` *is* the type's prior, so
  "sample u uniformly, decode" samples the space exactly, and tuners can treat every numeric
  dimension alike. Decoding applies the q-rounding (``clip(round(x / q) * q, low, high)``,
  NNI's rule; unbounded for the normal types) and integer bins.

``decode(encode(config)) == config`` for configurations in the space (up to float rounding of
continuous values), and ``encode(decode(v))`` is the canonical form of ``v``.

The module is pure: no I/O, no asynchrony.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from .errors import SearchSpaceError

__all__ = [
    "ALL_TYPES",
    "HPO_TYPES",
    "NAS_TYPES",
    "NESTED_CHOICE",
    "ChoiceParam",
    "Group",
    "NasParam",
    "NumericParam",
    "SearchSpace",
    "q_round",
]

# argument names of each numeric type, in the order of its ``_value`` list
_NUMERIC_ARGS: dict[str, tuple[str, ...]] = {
    "randint": ("lower", "upper"),
    "uniform": ("low", "high"),
    "quniform": ("low", "high", "q"),
    "loguniform": ("low", "high"),
    "qloguniform": ("low", "high", "q"),
    "normal": ("mu", "sigma"),
    "qnormal": ("mu", "sigma", "q"),
    "lognormal": ("mu", "sigma"),
    "qlognormal": ("mu", "sigma", "q"),
}
NAS_TYPES = frozenset({"layer_choice", "input_choice"})
HPO_TYPES = frozenset({"choice", *_NUMERIC_ARGS})
ALL_TYPES = HPO_TYPES | NAS_TYPES
#: The label ``SearchSpace.require`` uses for a choice with nested spaces; list it among a
#: tuner's supported types when the tuner handles them.
NESTED_CHOICE = "nested choice"

# u is kept this far from 0 and 1 before the inverse normal CDF, which is infinite there
_U_EPS = 1e-12
_STANDARD_NORMAL = NormalDist()


def q_round(x: float, q: float, low: float = -math.inf, high: float = math.inf) -> float:
    """NNI's rounding of q-types: ``clip(round(x / q) * q, low, high)``."""
    return min(max(round(x / q) * q, low), high)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class NumericParam:
    """A ``randint``, ``uniform``, ``normal``, ... parameter and its unit-interval encoding."""

    __slots__ = (
        "name",
        "path",
        "type",
        "index",
        "args",
        "q",
        "log",
        "low",
        "high",
        "_a",
        "_width",
        "_mu",
        "_sigma",
    )

    def __init__(self, name: str, path: str, type_: str, args: Sequence[float], index: int) -> None:
        self.name, self.path, self.type, self.index = name, path, type_, index
        self.args = tuple(args)
        self.q: float | None = args[2] if len(args) == 3 else None
        self.log = "log" in type_
        if type_ == "randint":
            self.low, self.high = int(args[0]), int(args[1]) - 1  # the values, both included
            self._a, self._width = float(self.low), float(self.high - self.low + 1)
        elif "normal" in type_:
            self._mu, self._sigma = args[0], args[1]
            self.low, self.high = (0.0 if self.log else -math.inf), math.inf
        else:
            self.low, self.high = float(args[0]), float(args[1])
            self._a = math.log(self.low) if self.log else self.low
            self._width = (math.log(self.high) if self.log else self.high) - self._a

    @property
    def discrete(self) -> bool:
        """True when the parameter takes a countable set of values (randint and q-types)."""
        return self.type == "randint" or self.q is not None

    @property
    def bounded(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)

    def from_unit(self, u: float) -> int | float:
        """The value at ``u`` in [0, 1] (the prior's quantile function, then q-rounding)."""
        if self.type == "randint":
            return min(self.low + int(u * self._width), self.high)
        if "normal" in self.type:
            x = self._mu + self._sigma * _STANDARD_NORMAL.inv_cdf(min(max(u, _U_EPS), 1 - _U_EPS))
        else:
            x = self._a + u * self._width
        if self.log:
            x = math.exp(x)
        if self.q is not None:
            return q_round(x, self.q, self.low, self.high)
        return min(max(x, self.low), self.high)  # exp/float error must not leave the range

    def to_unit(self, value: Any) -> float:
        """``u`` of ``value`` (clipped into [0, 1]); raises SearchSpaceError for a non-number."""
        if not _is_number(value) or (self.log and value < 0):
            raise SearchSpaceError(f"{self.path}: {value!r} is not a valid {self.type} value")
        if self.log and value == 0:  # qlognormal rounds small values down to 0
            if self.q is None:
                raise SearchSpaceError(f"{self.path}: {value!r} is not a valid {self.type} value")
            return 0.0
        if self.type == "randint":
            u = (value - self._a + 0.5) / self._width
        elif "normal" in self.type:
            x = math.log(value) if self.log else value
            u = _STANDARD_NORMAL.cdf((x - self._mu) / self._sigma)
        else:
            u = ((math.log(value) if self.log else value) - self._a) / self._width
        return min(max(u, 0.0), 1.0)

    def __repr__(self) -> str:
        return f"NumericParam({self.path!r}, {self.type}, {list(self.args)})"


@dataclass(frozen=True, eq=False)
class ChoiceParam:
    """A ``choice``; ``subspaces[i]`` is the nested space of option i (None for a plain value)."""

    name: str
    path: str
    options: tuple[Any, ...]
    subspaces: tuple[Subspace | None, ...]
    index: int
    type: str = "choice"

    @property
    def nested(self) -> bool:
        return any(s is not None for s in self.subspaces)

    def option_index(self, value: Any) -> int:
        """Index of the option ``value`` is (a nested option by its ``_name``)."""
        if isinstance(value, Mapping) and "_name" in value:
            for i, sub in enumerate(self.subspaces):
                if sub is not None and self.options[i]["_name"] == value["_name"]:
                    return i
        else:
            # an option of the same type first: 1 == 1.0 == True, but they are different options
            equal = [i for i, opt in enumerate(self.options) if opt == value]
            for i in equal:
                if type(self.options[i]) is type(value):
                    return i
            if equal:
                return equal[0]
        raise SearchSpaceError(f"{self.path}: {value!r} is not one of the options")


@dataclass(frozen=True)
class NasParam:
    """A ``layer_choice`` or ``input_choice``: validated, never encoded (NAS tuners own them)."""

    name: str
    path: str
    type: str
    value: Any
    index: int = -1


Param = NumericParam | ChoiceParam | NasParam


@dataclass(frozen=True)
class Subspace:
    """The parameters of one level: the whole space, or a nested option of a choice."""

    params: tuple[Param, ...]


@dataclass(frozen=True)
class Group:
    """The encoded dimensions that are active together: the top level, or one nested option.

    ``parent`` is ``(dim, option)``, the choice dimension and option that activate the group
    (None for the top level); ``dims`` are its own dimensions, in vector order; ``children``
    maps ``(dim, option)`` of its choices to the group that option activates.
    """

    id: int
    dims: np.ndarray
    parent: tuple[int, int] | None
    children: dict[tuple[int, int], int]


class SearchSpace:
    """A parsed, validated search space; build it with ``SearchSpace(raw_dict)``.

    Attributes callers may rely on: ``raw`` (the space as given), ``root`` (the top
    Subspace), ``dims`` (choice and numeric parameters in vector order, nested ones
    included), ``groups`` (``groups[0]`` is the top level), ``n_choices`` (options per
    dimension, 0 for numeric ones), ``categorical`` (bool mask), ``params()`` (every
    parameter, depth first).
    """

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.dims: list[NumericParam | ChoiceParam] = []
        self.groups: list[Group] = []
        self._nas: list[NasParam] = []
        self.root = self._parse_level(raw, "", None)
        self.n_dims = len(self.dims)
        self.n_choices = np.array(
            [len(d.options) if isinstance(d, ChoiceParam) else 0 for d in self.dims], dtype=np.int64
        )
        self.categorical = self.n_choices > 0
        self._cat_dims = np.flatnonzero(self.categorical)
        self._cat_sizes = self.n_choices[self._cat_dims].astype(float)
        # (dimension, options) of each choice, for sample(): numpy's indexing costs more
        # than the whole draw on a vector of a few dimensions
        self._cat_floors = [
            (int(i), float(n)) for i, n in zip(self._cat_dims, self._cat_sizes, strict=True)
        ]
        #: the group each dimension belongs to
        self.groups_of_dim = np.zeros(self.n_dims, dtype=np.int64)
        for g in self.groups:
            self.groups_of_dim[g.dims] = g.id

    # ----------------------------------------------------------------- parsing
    def _parse_level(self, level: Any, prefix: str, parent: tuple[int, int] | None) -> Subspace:
        where = prefix.rstrip("/") or "search space"
        if not isinstance(level, Mapping):
            raise SearchSpaceError(f"{where}: must be a map of parameter names, got {level!r}")
        group = Group(len(self.groups), np.empty(0, np.int64), parent, {})
        self.groups.append(group)
        params: list[Param] = []
        own_dims: list[int] = []
        for name, spec in level.items():
            if prefix and name == "_name":
                continue
            path = f"{prefix}{name}"
            if not isinstance(name, str) or not name:
                raise SearchSpaceError(
                    f"{where}: parameter names must be non-empty strings, got {name!r}"
                )
            param = self._parse_param(name, path, spec, group)
            if param.index >= 0:
                own_dims.append(param.index)
            params.append(param)
        object.__setattr__(group, "dims", np.array(own_dims, dtype=np.int64))
        return Subspace(tuple(params))

    def _parse_param(self, name: str, path: str, spec: Any, group: Group) -> Param:
        if not isinstance(spec, Mapping) or "_type" not in spec or "_value" not in spec:
            raise SearchSpaceError(f"{path}: must be a map with _type and _value, got {spec!r}")
        extra = sorted(set(spec) - {"_type", "_value"})
        if extra:
            raise SearchSpaceError(
                f"{path}: unknown keys {extra}; a parameter has only _type and _value"
            )
        type_, value = spec["_type"], spec["_value"]
        if type_ == "choice":
            return self._parse_choice(name, path, value, group)
        if type_ in _NUMERIC_ARGS:
            param = NumericParam(
                name, path, type_, _numeric_args(path, type_, value), len(self.dims)
            )
            self.dims.append(param)
            return param
        if type_ in NAS_TYPES:
            _check_nas(path, type_, value)
            nas = NasParam(name, path, type_, value)
            self._nas.append(nas)
            return nas
        known = ", ".join(sorted(ALL_TYPES))
        raise SearchSpaceError(f"{path}: unknown _type {type_!r}; known types: {known}")

    def _parse_choice(self, name: str, path: str, value: Any, group: Group) -> ChoiceParam:
        if not isinstance(value, list | tuple) or not value:
            raise SearchSpaceError(
                f"{path}: choice needs a non-empty list of options, got {value!r}"
            )
        index = len(self.dims)
        self.dims.append(None)  # type: ignore[arg-type]  # placeholder: nested dims come after
        subspaces: list[Subspace | None] = []
        names: set[Any] = set()
        for i, option in enumerate(value):
            # a map is a nested space when it has a _name or holds parameter specs; any other
            # map is a plain value (NNI's BatchTuner lists whole configurations this way)
            if not isinstance(option, Mapping) or not (
                "_name" in option
                or any(isinstance(v, Mapping) and "_type" in v for v in option.values())
            ):
                subspaces.append(None)
                continue
            if "_name" not in option:
                raise SearchSpaceError(
                    f"{path}/{i}: a nested option must have a _name, got {option!r}"
                )
            opt_name = option["_name"]
            if not isinstance(opt_name, str | int) or opt_name in names:
                raise SearchSpaceError(f"{path}/{i}: _name {opt_name!r} must be a unique string")
            names.add(opt_name)
            child = len(self.groups)
            group.children[(index, i)] = child
            subspaces.append(self._parse_level(option, f"{path}/{opt_name}/", (index, i)))
        param = ChoiceParam(name, path, tuple(value), tuple(subspaces), index)
        self.dims[index] = param
        return param

    # ----------------------------------------------------------------- queries
    def params(self) -> Iterator[Param]:
        """Every parameter, nested ones and NAS ones included, depth first."""

        def walk(sub: Subspace) -> Iterator[Param]:
            for p in sub.params:
                yield p
                if isinstance(p, ChoiceParam):
                    for s in p.subspaces:
                        if s is not None:
                            yield from walk(s)

        return walk(self.root)

    def require(self, supported: frozenset[str] | set[str], tuner: str) -> None:
        """Raise SearchSpaceError naming the first parameter whose type ``tuner`` lacks.

        A choice with nested spaces counts as type ``NESTED_CHOICE``.
        """
        for p in self.params():
            kind = NESTED_CHOICE if isinstance(p, ChoiceParam) and p.nested else p.type
            if kind not in supported:
                raise SearchSpaceError(f"{p.path}: tuner {tuner} does not support {kind}")

    # ----------------------------------------------------------------- sampling
    def random_vector(self, rng: np.random.Generator) -> np.ndarray:
        """A vector with every dimension drawn from its prior, inactive ones included."""
        v = rng.random(self.n_dims)
        v[self._cat_dims] = np.floor(v[self._cat_dims] * self._cat_sizes)
        return v

    def random_vectors(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` rows drawn as by ``random_vector`` (not the same stream)."""
        v = rng.random((n, self.n_dims))
        v[:, self._cat_dims] = np.floor(v[:, self._cat_dims] * self._cat_sizes)
        return v

    def space_filling_vectors(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` rows like ``random_vectors`` but stratified: a Latin hypercube design.

        Each dimension gets one draw from each of ``n`` equal slices of [0, 1], and the
        dimensions are paired at random (unlike Sobol points, whose low dimensions are
        correlated, which misled TPE about nested choices). Model-based tuners start from
        these: the first model sees more of the space than after ``n`` random draws.
        """
        if n <= 0 or self.n_dims == 0:
            return self.random_vectors(rng, max(n, 0))
        v = latin_hypercube(rng, n, self.n_dims)
        v[:, self._cat_dims] = np.floor(v[:, self._cat_dims] * self._cat_sizes)
        return v

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """One configuration drawn from the priors; nested choices sampled recursively.
        The same draw, value for value, as ``decode(random_vector(rng))``, with the choices
        floored in Python (every built-in tuner's cheapest suggestion, on the hot path)."""
        values = rng.random(self.n_dims).tolist()
        for i, options in self._cat_floors:
            values[i] = math.floor(values[i] * options)
        return self._decode_level(self.root, values)

    # ----------------------------------------------------------------- encoding
    def decode(self, vector: np.ndarray | Sequence[float]) -> dict[str, Any]:
        """The configuration a vector stands for; only the active dimensions are read.

        Raises SearchSpaceError when an active dimension is NaN.
        """
        values = vector.tolist() if isinstance(vector, np.ndarray) else list(vector)
        return self._decode_level(self.root, values)

    def _decode_level(self, sub: Subspace, values: list[float]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for p in sub.params:
            if isinstance(p, NasParam):
                raise SearchSpaceError(f"{p.path}: {p.type} is not encoded; NAS tuners choose it")
            x = values[p.index]
            if x != x:  # NaN
                raise SearchSpaceError(f"{p.path}: active dimension {p.index} has no value")
            if isinstance(p, NumericParam):
                out[p.name] = p.from_unit(x)
                continue
            i = min(int(x), len(p.options) - 1)
            nested = p.subspaces[i]
            if nested is None:
                out[p.name] = p.options[i]
            else:
                out[p.name] = {"_name": p.options[i]["_name"], **self._decode_level(nested, values)}
        return out

    def encode(self, config: Mapping[str, Any]) -> np.ndarray:
        """The vector of a configuration (NaN for inactive dimensions). Keys the space does not
        name are ignored; a missing key or a value outside the space raises SearchSpaceError."""
        out = np.full(self.n_dims, np.nan)
        self._encode_level(self.root, config, out)
        return out

    def _encode_level(self, sub: Subspace, config: Mapping[str, Any], out: np.ndarray) -> None:
        if not isinstance(config, Mapping):
            raise SearchSpaceError(f"a configuration must be a map, got {config!r}")
        for p in sub.params:
            if isinstance(p, NasParam):
                continue
            if p.name not in config:
                raise SearchSpaceError(f"{p.path}: missing from the configuration")
            value = config[p.name]
            if isinstance(p, NumericParam):
                out[p.index] = p.to_unit(value)
                continue
            i = p.option_index(value)
            out[p.index] = i
            nested = p.subspaces[i]
            if nested is not None:
                self._encode_level(nested, value, out)

    def active_groups(self, vector: np.ndarray) -> np.ndarray:
        """Mask of the groups that ``vector``'s choices activate (``groups[0]`` always)."""
        mask = np.zeros(len(self.groups), dtype=bool)
        mask[0] = True
        for g in self.groups[1:]:  # parents come before their children
            dim, option = g.parent  # type: ignore[misc]
            mask[g.id] = mask[self.groups_of_dim[dim]] and vector[dim] == option
        return mask


# --------------------------------------------------------------------- validation helpers
def _numeric_args(path: str, type_: str, value: Any) -> list[float]:
    names = _NUMERIC_ARGS[type_]
    if (
        not isinstance(value, list | tuple)
        or len(value) != len(names)
        or not all(_is_number(v) for v in value)
    ):
        raise SearchSpaceError(
            f"{path}: {type_} needs _value [{', '.join(names)}] of finite numbers, got {value!r}"
        )
    args = list(value)
    if type_ == "randint":
        if any(float(v) != int(v) for v in args):
            raise SearchSpaceError(f"{path}: randint bounds must be integers, got {value!r}")
        if args[0] >= args[1]:
            raise SearchSpaceError(
                f"{path}: randint needs lower < upper (upper excluded), got {value!r}"
            )
        return [int(v) for v in args]
    if "normal" in type_:
        if args[1] <= 0:
            raise SearchSpaceError(f"{path}: {type_} needs sigma > 0, got {value!r}")
    elif args[0] >= args[1]:
        raise SearchSpaceError(f"{path}: {type_} needs low < high, got {value!r}")
    elif "log" in type_ and args[0] <= 0:
        raise SearchSpaceError(f"{path}: {type_} needs 0 < low, got {value!r}")
    if len(args) == 3 and args[2] <= 0:
        raise SearchSpaceError(f"{path}: {type_} needs q > 0, got {value!r}")
    return [float(v) for v in args]


def _check_nas(path: str, type_: str, value: Any) -> None:
    if type_ == "layer_choice":
        if not isinstance(value, list | tuple) or not value:
            raise SearchSpaceError(
                f"{path}: layer_choice needs a non-empty list of candidates, got {value!r}"
            )
        return
    if (
        not isinstance(value, Mapping)
        or not isinstance(value.get("candidates"), list | tuple)
        or not value["candidates"]
    ):
        raise SearchSpaceError(
            f"{path}: input_choice needs {{candidates: [...], n_chosen: k}}, got {value!r}"
        )
    n = value.get("n_chosen")
    if n is not None and (
        isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= len(value["candidates"])
    ):
        raise SearchSpaceError(
            f"{path}: input_choice n_chosen must be an integer in [0, {len(value['candidates'])}], got {n!r}"
        )


def latin_hypercube(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """``n`` points of a scrambled Latin hypercube in [0, 1)^d: the design of
    ``scipy.stats.qmc.LatinHypercube(d, seed=rng).random(n)``, point for point, without
    importing scipy.stats (about 0.3 s, most of a TPE tuner's set-up). Like it, it draws
    from a child of ``rng``, so ``rng`` itself moves on only by the spawn."""
    child = rng.spawn(1)[0]
    offsets = child.uniform(size=(n, d))
    slots = np.tile(np.arange(1, n + 1), (d, 1))
    for row in slots:
        child.shuffle(row)
    return (slots.T - offsets) / n
