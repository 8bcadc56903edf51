"""TPE: the Parzen estimator's maths, the constant liar, and that it beats random search."""

from __future__ import annotations

import anyio
import numpy as np
import pytest
from scipy.stats import truncnorm

from asyncnni import tuners
from asyncnni.search_space import SearchSpace
from asyncnni.tuners._tpe import ParzenEstimator, TPEOptimizer
from asyncnni.tuners._tpe.optimizer import below_min_bandwidth
from asyncnni.tuners._tpe.parzen import neighbour_bandwidths

from .drive import BRANIN_MIN, BRANIN_SPACE, branin, drive


def _estimator(seed: int = 1) -> tuple[ParzenEstimator, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    obs = np.column_stack([rng.random(7), rng.random(7), rng.integers(0, 3, 7)])
    weights = rng.random(7)
    pe = ParzenEstimator(obs, weights, np.array([False, False, True]), np.array([0, 0, 3]), 1.0)
    return pe, obs, weights


def test_log_pdf_is_the_mixture_of_truncated_kernels() -> None:
    pe, obs, weights = _estimator()
    rng = np.random.default_rng(2)
    y = np.column_stack([rng.random(9), rng.random(9), rng.integers(0, 3, 9)])
    sig = np.vstack([neighbour_bandwidths(obs[:, :2].T).T, [1.0, 1.0]])
    mus = np.vstack([obs[:, :2], [0.5, 0.5]])
    w = np.append(weights, 1.0) / (weights.sum() + 1.0)
    base = 1.0 / 8
    density = np.zeros(len(y))
    for i in range(8):
        numeric = np.prod(
            [
                truncnorm.pdf(
                    y[:, d],
                    -mus[i, d] / sig[i, d],
                    (1 - mus[i, d]) / sig[i, d],
                    loc=mus[i, d],
                    scale=sig[i, d],
                )
                for d in range(2)
            ],
            axis=0,
        )
        cat = (base + (y[:, 2] == obs[i, 2])) / (1 + 3 * base) if i < 7 else 1 / 3
        density += w[i] * numeric * cat
    assert pe.log_pdf(y) == pytest.approx(np.log(density), rel=1e-9)


def test_samples_follow_the_density() -> None:
    pe, _, _ = _estimator()
    s = pe.sample(np.random.default_rng(3), 40_000)
    assert np.all((s[:, :2] >= 0) & (s[:, :2] <= 1)) and set(np.unique(s[:, 2])) <= {0.0, 1.0, 2.0}
    # histogram of the first dimension against the density integrated over the others
    grid = np.linspace(0, 1, 401)
    mids = (grid[:-1] + grid[1:]) / 2
    dens = np.zeros_like(mids)
    for c in range(3):
        for y2 in np.linspace(0.00125, 0.99875, 400):
            pts = np.column_stack([mids, np.full_like(mids, y2), np.full_like(mids, c)])
            dens += np.exp(pe.log_pdf(pts)) / 400
    bins = np.linspace(0, 1, 11)
    hist = np.histogram(s[:, 0], bins)[0] / len(s)
    expected = np.add.reduceat(dens / dens.sum(), np.arange(0, 400, 40))
    assert hist == pytest.approx(expected, abs=0.01)


def test_bandwidths_are_the_larger_neighbour_gap_clipped() -> None:
    mu = np.array([[0.1, 0.5, 0.52, 0.9], [0.9, 0.52, 0.5, 0.1]])  # one row per dimension
    # ends use their inner gap; the floor is 1 / min(100, m + 2)
    assert neighbour_bandwidths(mu)[0] == pytest.approx([0.4, 0.4, 0.38, 0.38])
    assert neighbour_bandwidths(mu)[1] == pytest.approx([0.38, 0.38, 0.4, 0.4])
    assert neighbour_bandwidths(np.array([[0.5, 0.5, 0.5]]))[0] == pytest.approx([0.2] * 3)
    assert neighbour_bandwidths(np.array([[0.5, 0.5, 0.5]]), 0.01)[0] == pytest.approx([0.01] * 3)


def test_good_kernels_narrow_with_the_number_of_results() -> None:
    """l has at most 25 kernels; its floor follows the results, down to 1/100."""
    assert below_min_bandwidth(30) == pytest.approx(1 / 17)
    assert below_min_bandwidth(150) == pytest.approx(1 / 77)
    assert below_min_bandwidth(1000) == pytest.approx(1 / 100)


def test_the_good_ones_are_the_best_five_percent() -> None:
    """After 40 results l is built on the best 2: suggestions gather around them, not around
    the 3rd and 4th best elsewhere (with the best 10%, about a third went there)."""
    space = SearchSpace({"x": {"_type": "uniform", "_value": [0, 1]}})
    rng = np.random.default_rng(0)
    near_third = 0
    for seed in range(20):
        opt = TPEOptimizer(space, np.random.default_rng(seed))
        for x, loss in [(0.2, 0.0), (0.21, 0.1), (0.8, 0.2), (0.81, 0.3)]:
            opt.tell(np.array([x]), loss)
        for x in rng.random(36):
            opt.tell(np.array([x]), 10.0 + x)
        near_third += sum(abs(opt.ask()[0] - 0.8) < 0.05 for _ in range(5))
    assert near_third <= 5


def test_constant_liar_spreads_suggestions_in_flight() -> None:
    """Asked 8 times with no result in between, TPE spreads out more when it sees its pending
    suggestions than when it ignores them (averaged over seeds: a margin, not a lucky one)."""
    space = SearchSpace({"x": {"_type": "uniform", "_value": [0, 1]}})
    spreads = {True: [], False: []}
    for seed in range(6):
        for liar in (True, False):
            opt = TPEOptimizer(space, np.random.default_rng(seed), n_startup_trials=10)
            for x in np.random.default_rng(100 + seed).random(30):
                opt.tell(np.array([x]), (x - 0.3) ** 2)
            pending: list[np.ndarray] = []
            for _ in range(8):
                pending.append(opt.ask(pending if liar else []))
            spreads[liar].append(np.std(pending))
    assert np.mean(spreads[True]) > 1.5 * np.mean(spreads[False])


def _best_regret(name: str, seed: int, n: int) -> float:
    async def run() -> float:
        tuner = tuners.create(name, optimize_mode="minimize", seed=seed)
        await tuner.update_search_space(BRANIN_SPACE)
        return min(branin(p) for p in await drive(tuner, n, branin)) - BRANIN_MIN

    return anyio.run(run)


def test_tpe_beats_random_on_branin() -> None:
    """Median best regret after 100 trials over 8 seeds: TPE at most a third of Random's.
    (Measured: about 0.01 against 0.4; a broken model lands near Random.)"""
    tpe = np.median([_best_regret("TPE", s, 100) for s in range(8)])
    rnd = np.median([_best_regret("Random", s, 100) for s in range(8)])
    assert tpe < rnd / 3


@pytest.mark.parametrize("name", ["TPE", "Anneal"])
def test_tpe_and_anneal_minimize_by_default_as_in_nni(name: str) -> None:
    space = SearchSpace({"x": {"_type": "uniform", "_value": [0, 1]}})
    tuner = tuners.create(name, seed=0, **({"n_startup_trials": 10} if name == "TPE" else {}))
    assert tuner.optimize_mode == "minimize"

    async def run() -> list[dict]:
        await tuner.update_search_space(space.raw)
        return await drive(tuner, 60, lambda p: p["x"])

    xs = [p["x"] for p in anyio.run(run)]
    assert np.mean(xs[-20:]) < 0.25  # late suggestions crowd the bottom of the range


def test_pending_suggestions_are_distinct_and_spread_out() -> None:
    """Eight suggestions asked with no result in between, after 40 results on a continuous
    space: no two are closer than 0.01 in the unit square. (Measured over 20 seeds: at least
    0.035 apart with the liar; ignoring the pending ones, 7 of 20 seeds give a pair < 0.01.)"""
    space = SearchSpace(BRANIN_SPACE)

    async def closest_pair(seed: int) -> float:
        tuner = tuners.create("TPE", optimize_mode="minimize", seed=seed)
        await tuner.update_search_space(BRANIN_SPACE)
        rng = np.random.default_rng(100 + seed)
        points = [space.sample(rng) for _ in range(40)]
        await tuner.import_data([{"parameter": p, "value": branin(p)} for p in points])
        v = np.array([space.encode(await tuner.generate_parameters(pid)) for pid in range(8)])
        dist = np.sqrt(((v[:, None] - v[None]) ** 2).sum(axis=2))
        return float(dist[np.triu_indices(8, 1)].min())

    for seed in range(10):
        assert anyio.run(closest_pair, seed) > 0.01
