"""Anneal: hyperopt's neighbourhood (a window that shrinks with the suggestions made) and
its choice of base."""

from __future__ import annotations

import numpy as np

from asyncnni.search_space import SearchSpace
from asyncnni.tuners.anneal import AnnealOptimizer

from .drive import MIXED_SPACE

BOX = SearchSpace({f"x{i}": {"_type": "uniform", "_value": [0, 1]} for i in range(3)})


def _told(avg_best_idx: float, n: int = 30, seed: int = 0) -> tuple[AnnealOptimizer, np.ndarray]:
    rng = np.random.default_rng(100 + seed)
    opt = AnnealOptimizer(BOX, np.random.default_rng(seed), avg_best_idx=avg_best_idx)
    xs = rng.random((n, 3))
    for x in xs:
        opt.tell(x, float(((x - 0.5) ** 2).sum()))
    return opt, xs


def test_suggestions_lie_in_the_shrunk_window_around_the_best() -> None:
    """avg_best_idx 1: every base is the best result; 30 results give windows of 1/4 of the
    range (hyperopt's 1 / (1 + 30 * 0.1)), shifted inside [0, 1]."""
    opt, xs = _told(avg_best_idx=1.0)
    best = xs[np.argmin(((xs - 0.5) ** 2).sum(axis=1))]
    centre = np.clip(best, 0.125, 0.875)
    ys = np.array([opt.ask() for _ in range(300)])
    assert np.all(np.abs(ys - centre) <= 0.125 + 1e-12)
    # uniform in the window, not crowded at its centre: a quarter lie in its outer eighths
    assert 0.15 < np.mean(np.abs(ys - centre) > 0.09375) < 0.35


def test_half_the_bases_are_the_best_result() -> None:
    """With hyperopt's default avg_best_idx 2, the base's rank + 1 is geometric with mean 2."""
    opt, xs = _told(avg_best_idx=2.0)
    best = xs[np.argmin(((xs - 0.5) ** 2).sum(axis=1))]
    centre = np.clip(best, 0.125, 0.875)
    ys = np.array([opt.ask() for _ in range(400)])
    near_best = np.all(np.abs(ys - centre) <= 0.125 + 1e-12, axis=1)
    assert 0.45 < near_best.mean() < 0.75  # the best, plus other bases whose windows overlap


def test_pending_suggestions_narrow_the_window() -> None:
    """10 results and 20 pending: windows of 1/4 (T = 30), as after 30 results."""
    opt, xs = _told(avg_best_idx=1.0, n=10)
    best = xs[np.argmin(((xs - 0.5) ** 2).sum(axis=1))]
    centre = np.clip(best, 0.125, 0.875)
    pending = [np.full(3, 0.5)] * 20
    ys = np.array([opt.ask(pending) for _ in range(200)])
    assert np.all(np.abs(ys - centre) <= 0.125 + 1e-12)


def test_nested_choices_count_where_they_were_active() -> None:
    """Each dimension's window shrinks with the suggestions where it was active."""
    space = SearchSpace(MIXED_SPACE)
    opt = AnnealOptimizer(space, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    for _ in range(20):
        v = space.random_vector(rng)
        opt.tell(v, float(rng.random()))
    for _ in range(50):
        params = space.decode(opt.ask())
        assert set(params) == set(MIXED_SPACE)
    # the top level was active in all 20 results, sgd's parameters only where it was chosen
    sgd_dims = [p.index for p in space.params() if p.path.startswith("optimizer/sgd/")]
    assert np.all(opt._seen[space.groups[0].dims] == 20)
    assert np.all(opt._seen[sgd_dims] < 20)
