"""Search spaces: validation messages, sampling statistics per type, encoding properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from asyncnni.errors import SearchSpaceError
from asyncnni.search_space import SearchSpace, q_round

N = 20_000  # draws per statistics test: a 5-sigma margin stays tight at this size


def draws(spec: dict, n: int = N, seed: int = 0) -> np.ndarray:
    space = SearchSpace({"x": spec})
    rng = np.random.default_rng(seed)
    return np.array([space.sample(rng)["x"] for _ in range(n)])


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"lr": {"_type": "uniform"}}, "lr: must be a map with _type and _value"),
        ({"lr": {"_type": "uniform", "_value": [1, 0]}}, r"lr: uniform needs low < high"),
        ({"lr": {"_type": "loguniform", "_value": [0, 1]}}, r"lr: loguniform needs 0 < low"),
        ({"lr": {"_type": "quniform", "_value": [0, 1, 0]}}, r"lr: quniform needs q > 0"),
        (
            {"lr": {"_type": "quniform", "_value": [0, 1]}},
            r"lr: quniform needs _value \[low, high, q\]",
        ),
        ({"lr": {"_type": "normal", "_value": [0, -1]}}, "lr: normal needs sigma > 0"),
        ({"lr": {"_type": "uniform", "_value": [0, float("inf")]}}, "finite numbers"),
        ({"lr": {"_type": "uniform", "_value": [True, 2]}}, "finite numbers"),
        ({"n": {"_type": "randint", "_value": [1.5, 3]}}, "n: randint bounds must be integers"),
        ({"n": {"_type": "randint", "_value": [3, 3]}}, r"n: randint needs lower < upper"),
        ({"n": {"_type": "choice", "_value": []}}, "n: choice needs a non-empty list"),
        (
            {"n": {"_type": "chioce", "_value": [1]}},
            "n: unknown _type 'chioce'; known types: choice",
        ),
        ({"n": {"_type": "choice", "_value": [1], "extra": 1}}, r"n: unknown keys \['extra'\]"),
        (
            {
                "optimizer": {
                    "_type": "choice",
                    "_value": [{"_name": "sgd", "lr": {"_type": "loguniform", "_value": [-1, 1]}}],
                }
            },
            "optimizer/sgd/lr: loguniform needs 0 < low",
        ),
        (
            {
                "optimizer": {
                    "_type": "choice",
                    "_value": [{"lr": {"_type": "uniform", "_value": [0, 1]}}],
                }
            },
            "optimizer/0: a nested option must have a _name",
        ),
        (
            {"o": {"_type": "choice", "_value": [{"_name": "a"}, {"_name": "a"}]}},
            "o/1: _name 'a' must be a unique",
        ),
        ({"c": {"_type": "layer_choice", "_value": []}}, "c: layer_choice needs a non-empty list"),
        (
            {"c": {"_type": "input_choice", "_value": {"candidates": ["a"], "n_chosen": 2}}},
            r"c: input_choice n_chosen must be an integer in \[0, 1\]",
        ),
        ({"c": {"_type": "input_choice", "_value": ["a"]}}, "c: input_choice needs"),
        ([1, 2], "search space: must be a map"),
    ],
)
def test_invalid_spaces_name_the_parameter(space: object, message: str) -> None:
    with pytest.raises(SearchSpaceError, match=message):
        SearchSpace(space)  # type: ignore[arg-type]


def test_nas_types_parse_and_are_listed() -> None:
    space = SearchSpace(
        {
            "op": {"_type": "layer_choice", "_value": ["conv", "pool"]},
            "skip": {"_type": "input_choice", "_value": {"candidates": ["a", "b"], "n_chosen": 1}},
            "lr": {"_type": "uniform", "_value": [0, 1]},
        }
    )
    assert [(p.path, p.type) for p in space.params()] == [
        ("op", "layer_choice"),
        ("skip", "input_choice"),
        ("lr", "uniform"),
    ]
    assert space.n_dims == 1
    with pytest.raises(SearchSpaceError, match="op: tuner T does not support layer_choice"):
        space.require(frozenset({"uniform"}), "T")


def test_encode_refuses_what_is_not_in_the_space() -> None:
    space = SearchSpace(
        {"c": {"_type": "choice", "_value": [1, 2]}, "x": {"_type": "loguniform", "_value": [1, 2]}}
    )
    with pytest.raises(SearchSpaceError, match="c: 3 is not one of the options"):
        space.encode({"c": 3, "x": 1.5})
    with pytest.raises(SearchSpaceError, match="x: missing"):
        space.encode({"c": 1})
    with pytest.raises(SearchSpaceError, match="x: -1 is not a valid loguniform value"):
        space.encode({"c": 1, "x": -1})
    assert space.encode({"c": 1, "x": 1.0, "other": "ignored"}).tolist() == [0.0, 0.0]


# ------------------------------------------------------------------ sampling statistics
def test_choice_is_uniform_and_keeps_value_types() -> None:
    values = draws({"_type": "choice", "_value": [1, 1.0, "a", None]}, n=N)
    counts = [
        sum(1 for v in values if v == opt and type(v) is type(opt)) for opt in (1, 1.0, "a", None)
    ]
    assert stats.chisquare(counts).pvalue > 1e-4


def test_randint_excludes_upper_and_is_uniform() -> None:
    values = draws({"_type": "randint", "_value": [-2, 3]})
    assert values.dtype.kind == "i" and set(values.tolist()) == {-2, -1, 0, 1, 2}
    assert stats.chisquare(np.bincount(values + 2)).pvalue > 1e-4


@pytest.mark.parametrize(
    ("spec", "transform", "reference"),
    [
        ({"_type": "uniform", "_value": [-1, 3]}, lambda x: x, stats.uniform(-1, 4)),
        (
            {"_type": "loguniform", "_value": [1e-4, 1]},
            np.log,
            stats.uniform(math.log(1e-4), -math.log(1e-4)),
        ),
        ({"_type": "normal", "_value": [2, 3]}, lambda x: x, stats.norm(2, 3)),
        ({"_type": "lognormal", "_value": [-1, 0.5]}, np.log, stats.norm(-1, 0.5)),
    ],
)
def test_continuous_types_follow_their_distribution(spec, transform, reference) -> None:
    assert stats.kstest(transform(draws(spec)), reference.cdf).pvalue > 1e-4


@pytest.mark.parametrize(
    ("spec", "continuous", "low", "high"),
    [
        ({"_type": "quniform", "_value": [0.1, 1.0, 0.25]}, stats.uniform(0.1, 0.9), 0.1, 1.0),
        ({"_type": "qloguniform", "_value": [1, 100, 10]}, stats.loguniform(1, 100), 1, 100),
        ({"_type": "qnormal", "_value": [0, 2, 1.5]}, stats.norm(0, 2), -math.inf, math.inf),
        (
            {"_type": "qlognormal", "_value": [1, 1, 2]},
            stats.lognorm(1, scale=math.e),
            -math.inf,
            math.inf,
        ),
    ],
)
def test_q_types_round_the_nni_way(spec, continuous, low, high) -> None:
    """Frequencies match P(clip(round(x / q) * q, low, high) = v) for x from the continuous type."""
    q = spec["_value"][2]
    values = draws(spec)
    for v in values[:200]:
        assert v == q_round(v, q, low, high) and low <= v <= high
    support = np.unique(values)
    # exact law: k = round(x / q) has P(k) = F((k + 1/2) q) - F((k - 1/2) q); value = clip(k q)
    ks = np.arange(round(support.min() / q) - 1, round(support.max() / q) + 2)
    mass = continuous.cdf((ks + 0.5) * q) - continuous.cdf((ks - 0.5) * q)
    law: dict[float, float] = {}
    for k, p in zip(ks.tolist(), mass, strict=True):
        v = q_round(k * q, q, low, high)
        law[v] = law.get(v, 0.0) + p
    expected = np.array([law.get(v, 0.0) for v in support.tolist()]) * len(values)
    observed = np.array([(values == v).sum() for v in support])
    big = expected > 20  # chi-square wants enough expected counts; the tails are pooled
    stat = (((observed[big] - expected[big]) ** 2) / expected[big]).sum()
    assert stats.chi2(big.sum()).sf(stat) > 1e-4


def test_maps_without_name_or_specs_are_plain_options() -> None:
    configs = [{"lr": 0.1, "bs": 32}, {"lr": 0.01, "bs": 64}]
    space = SearchSpace({"combine_params": {"_type": "choice", "_value": configs}})
    assert space.sample(np.random.default_rng(0))["combine_params"] in configs
    assert space.encode({"combine_params": configs[1]}).tolist() == [1.0]


def test_nested_choice_samples_its_own_parameters() -> None:
    space = SearchSpace(
        {
            "opt": {
                "_type": "choice",
                "_value": [
                    {"_name": "sgd", "lr": {"_type": "uniform", "_value": [0, 1]}},
                    {"_name": "adam"},
                    "plain",
                ],
            }
        }
    )
    rng = np.random.default_rng(0)
    seen = [space.sample(rng)["opt"] for _ in range(300)]
    assert {repr(sorted(s)) if isinstance(s, dict) else s for s in seen} == {
        "['_name', 'lr']",
        "['_name']",
        "plain",
    }
    assert all(0 <= s["lr"] <= 1 for s in seen if isinstance(s, dict) and s["_name"] == "sgd")


def test_seeded_sampling_is_reproducible() -> None:
    space = SearchSpace(
        {
            "x": {"_type": "normal", "_value": [0, 1]},
            "c": {"_type": "choice", "_value": list("abc")},
        }
    )
    a = [space.sample(np.random.default_rng(5)) for _ in range(3)]
    assert a[0] == a[1] == a[2]


# ------------------------------------------------------------------ properties (hypothesis)
finite = st.floats(-1e3, 1e3, allow_nan=False)
positive = st.floats(1e-3, 1e3)


@st.composite
def numeric_spec(draw) -> dict:
    kind = draw(
        st.sampled_from(
            [
                "uniform",
                "quniform",
                "loguniform",
                "qloguniform",
                "normal",
                "qnormal",
                "lognormal",
                "qlognormal",
                "randint",
            ]
        )
    )
    q = draw(positive)
    if kind == "randint":
        lo = draw(st.integers(-50, 50))
        return {"_type": kind, "_value": [lo, lo + draw(st.integers(1, 50))]}
    if "normal" in kind:
        mu, sigma = draw(st.floats(-3, 3)), draw(st.floats(0.01, 3))
        return {"_type": kind, "_value": [mu, sigma, q] if kind.startswith("q") else [mu, sigma]}
    lo = draw(positive if "log" in kind else finite)
    hi = lo + draw(st.floats(1e-2, 1e3))
    return {"_type": kind, "_value": [lo, hi, q] if kind.startswith("q") else [lo, hi]}


@st.composite
def spaces(draw) -> dict:
    names = draw(
        st.lists(st.text("abcdef", min_size=1, max_size=3), min_size=1, max_size=4, unique=True)
    )
    space: dict = {}
    for name in names:
        pick = draw(st.integers(0, 3))
        if pick == 0:
            space[name] = {
                "_type": "choice",
                "_value": draw(st.lists(st.integers(), min_size=1, max_size=5)),
            }
        elif pick == 1:
            space[name] = {
                "_type": "choice",
                "_value": [{"_name": "a", "p": draw(numeric_spec())}, {"_name": "b"}, 7],
            }
        else:
            space[name] = draw(numeric_spec())
    return space


def _check_value(spec: dict, v: object) -> None:
    kind, args = spec["_type"], spec["_value"]
    if kind == "randint":
        assert isinstance(v, int) and args[0] <= v < args[1]
    elif kind == "choice":
        return
    else:
        assert isinstance(v, float) and math.isfinite(v)
        if "uniform" in kind:
            assert args[0] <= v <= args[1]
        if "log" in kind:
            assert v >= 0
        if kind.startswith("q"):
            q = args[2]
            low, high = (args[0], args[1]) if "uniform" in kind else (-math.inf, math.inf)
            assert v == q_round(v, q, low, high) or v in (low, high)


@settings(max_examples=150, deadline=None)
@given(spaces(), st.integers(0, 2**32 - 1))
def test_a_sample_is_the_decoded_random_vector_of_the_same_draw(raw: dict, seed: int) -> None:
    # sample() floors the choices in Python instead of numpy: value for value the same
    space = SearchSpace(raw)
    sampled, drawn = np.random.default_rng(seed), np.random.default_rng(seed)
    for _ in range(5):
        config, expected = space.sample(sampled), space.decode(space.random_vector(drawn))
        assert config == expected
        assert [type(v) for v in config.values()] == [type(v) for v in expected.values()]


@settings(max_examples=150, deadline=None)
@given(spaces(), st.integers(0, 2**32 - 1))
def test_samples_lie_in_the_space_and_round_trip(raw: dict, seed: int) -> None:
    space = SearchSpace(raw)
    rng = np.random.default_rng(seed)
    for _ in range(5):
        config = space.sample(rng)
        assert list(config) == list(raw)
        for name, value in config.items():
            spec = raw[name]
            if isinstance(value, dict):
                if value["_name"] == "a":
                    assert set(value) == {"_name", "p"}
                    _check_value(spec["_value"][0]["p"], value["p"])
                else:
                    assert value == {"_name": "b"}
            elif isinstance(value, int | float) and spec["_type"] != "choice":
                _check_value(spec, value)
        vector = space.encode(config)
        numeric = ~space.categorical & ~np.isnan(vector)
        assert np.all((vector[numeric] >= 0) & (vector[numeric] <= 1))
        again = space.decode(vector)
        assert _close(again, config)
        # a second round trip lands on the same vector: inactive dims stay NaN, values stay put
        assert np.allclose(space.encode(again), vector, rtol=1e-6, atol=1e-9, equal_nan=True)


def _close(a: object, b: object) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, float):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)  # type: ignore[arg-type]
    return a == b


@settings(max_examples=100, deadline=None)
@given(numeric_spec(), st.floats(0, 1))
def test_decode_is_monotone_in_u(spec: dict, u: float) -> None:
    param = SearchSpace({"x": spec}).dims[0]
    lo, hi = param.from_unit(max(u - 0.1, 0.0)), param.from_unit(u)
    assert lo <= hi


def test_space_filling_vectors_put_one_point_in_each_slice() -> None:
    space = SearchSpace(
        {
            "a": {"_type": "uniform", "_value": [0, 1]},
            "b": {"_type": "normal", "_value": [0, 1]},
            "c": {"_type": "choice", "_value": [1, 2, 3, 4]},
        }
    )
    v = space.space_filling_vectors(np.random.default_rng(0), 20)
    for dim in (0, 1):
        assert sorted(np.floor(v[:, dim] * 20).astype(int).tolist()) == list(range(20))
    assert np.bincount(v[:, 2].astype(int)).tolist() == [5, 5, 5, 5]  # strata of 4 options
    assert [space.decode(row)["c"] for row in v[:3]] == [[1, 2, 3, 4][int(x)] for x in v[:3, 2]]


def test_the_latin_hypercube_is_scipys_design_without_importing_scipy_stats():
    from scipy.stats import qmc

    from asyncnni.search_space import latin_hypercube

    for n, d in [(20, 6), (1, 3), (7, 1)]:
        ours, theirs = np.random.default_rng(5), np.random.default_rng(5)
        expected = qmc.LatinHypercube(d, seed=theirs).random(n)
        assert np.array_equal(latin_hypercube(ours, n, d), expected)
        assert ours.random() == theirs.random(), "the generator moves on as scipy's does"
