"""GP: the likelihood gradient, that it finds Branin's minimum far better than random, and how
it spreads suggestions that are asked while others are pending."""

from __future__ import annotations

import anyio
import numpy as np
from scipy.optimize import check_grad

from asyncnni import tuners
from asyncnni.search_space import SearchSpace
from asyncnni.tuners._gp import MaternGP

from .drive import BRANIN_MIN, BRANIN_SPACE, branin, drive


def test_likelihood_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((25, 3))
    y = np.sin(6 * x[:, 0]) + x[:, 1] ** 2 + 0.01 * rng.standard_normal(25)
    gp = MaternGP(3)
    gp.fit(x, y, refit=False)
    theta = np.array([np.log(0.3), np.log(0.7), np.log(2.0), 0.2, np.log(1e-2)])
    err = check_grad(lambda t: gp._nll(t)[0], lambda t: gp._nll(t)[1], theta)
    assert err < 1e-4 * np.linalg.norm(gp._nll(theta)[1]) + 1e-6


def test_fitted_model_interpolates_and_knows_its_uncertainty() -> None:
    rng = np.random.default_rng(1)
    x = rng.random((30, 2))
    y = np.sin(5 * x[:, 0]) * np.cos(3 * x[:, 1])
    gp = MaternGP(2)
    gp.fit(x, y)
    mean, sd = gp.predict(x)
    assert np.abs(mean - y).max() < 0.05
    far_mean, far_sd = gp.predict(np.array([[5.0, 5.0]]))  # far from every observation
    assert far_sd[0] > 5 * sd.max()


def test_gp_beats_random_on_branin() -> None:
    async def regret(name: str, seed: int) -> float:
        tuner = tuners.create(name, optimize_mode="minimize", seed=seed)
        await tuner.update_search_space(BRANIN_SPACE)
        return min(branin(p) for p in await drive(tuner, 30, branin)) - BRANIN_MIN

    gp = np.median([anyio.run(regret, "GP", s) for s in range(3)])
    rnd = np.median([anyio.run(regret, "Random", s) for s in range(3)])
    assert gp < rnd / 5  # measured: ~0.01 against ~1.5 at 30 trials


def test_pending_suggestions_are_distinct_and_stay_where_results_are_good() -> None:
    """Eight suggestions asked with no result in between, after 30 random results on Branin:
    no two closer than 0.001 in the unit square, and half of them within 2.5 of the minimum.
    (Measured over seeds 0-9: closest pairs 0.002-0.05, the fourth best 0.03-2.1. A pending
    suggestion believed at a predicted loss below the best gave 8 copies of one point; the
    worst loss as the lie sent them away: fourth best 2.46-10.6.)"""
    space = SearchSpace(BRANIN_SPACE)

    async def pending_suggestions(seed: int) -> tuple[float, float]:
        tuner = tuners.create("GP", optimize_mode="minimize", seed=seed)
        await tuner.update_search_space(BRANIN_SPACE)
        rng = np.random.default_rng(100 + seed)
        points = [space.sample(rng) for _ in range(30)]
        await tuner.import_data([{"parameter": p, "value": branin(p)} for p in points])
        asked = [await tuner.generate_parameters(pid) for pid in range(8)]
        v = np.array([space.encode(p) for p in asked])
        dist = np.sqrt(((v[:, None] - v[None]) ** 2).sum(axis=2))
        fourth_best = sorted(branin(p) - BRANIN_MIN for p in asked)[3]
        return float(dist[np.triu_indices(8, 1)].min()), fourth_best

    for seed in range(6):
        closest, fourth_best = anyio.run(pending_suggestions, seed)
        assert closest > 0.001
        assert fourth_best < 2.5
