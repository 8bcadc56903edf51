"""Local moves in a space's encoding: Evolution's mutations; which dimensions are active."""

from __future__ import annotations

import numpy as np

from ..search_space import SearchSpace


def active_dims(space: SearchSpace, vector: np.ndarray) -> np.ndarray:
    """Mask of the dimensions ``vector``'s choices activate."""
    return space.active_groups(vector)[space.groups_of_dim]


def perturb(
    space: SearchSpace,
    vector: np.ndarray,
    rng: np.random.Generator,
    *,
    sigma: float,
    p_dim: float = 1.0,
) -> np.ndarray:
    """A neighbour of ``vector``.

    Each active dimension is picked with probability ``p_dim`` (at least one is, when any
    exists). A picked numeric one moves by a Gaussian step of sd ``sigma`` in unit space,
    reflected at 0 and 1; a picked choice is redrawn uniformly.
    Dimensions a changed choice newly activates get fresh draws from their priors. The
    result carries values for every dimension; ``SearchSpace.decode`` reads the active ones.
    """
    out = np.where(np.isnan(vector), space.random_vector(rng), vector)
    picked = active_dims(space, vector) & (rng.random(space.n_dims) < p_dim)
    if not picked.any():
        candidates = np.flatnonzero(active_dims(space, vector))
        if candidates.size:
            picked[rng.choice(candidates)] = True
    numeric = picked & ~space.categorical
    step = out[numeric] + sigma * rng.standard_normal(int(numeric.sum()))
    out[numeric] = 1.0 - np.abs(1.0 - np.abs(step) % 2.0)  # reflect into [0, 1]
    redraw = picked & space.categorical
    out[redraw] = np.floor(rng.random(int(redraw.sum())) * space.n_choices[redraw])
    return out
