"""What every built-in tuner shares: class args, the search space, the loss, warm starts.

Among the tuners, ``optimize_mode`` is handled here: results become losses (smaller is
better) before any algorithm sees them. (The experiment's observer reads the same attribute to
track the best result.) Algorithms live in plain classes with ``ask`` / ``tell``
(see :class:`Optimizer`); :class:`ModelBasedTuner` is the thin async shell around them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import anyio
import anyio.to_thread
import numpy as np

from ..errors import SearchSpaceError
from ..search_space import HPO_TYPES, NESTED_CHOICE, SearchSpace
from ..tuner import OptimizeMode, Tuner, metric_scalar

log = logging.getLogger(__name__)

#: every type of the HPO language, nested choices included (not the NAS types)
ALL_HPO = frozenset({*HPO_TYPES, NESTED_CHOICE})


class BuiltinTuner(Tuner):
    """Base of the built-in tuners: parses and checks the space, turns metrics into losses.

    Subclasses set ``supported`` (the types they handle) and override ``_on_search_space``.
    """

    supported: frozenset[str] = ALL_HPO
    #: keys the tuner adds to its parameter sets: a top-level parameter of that name is refused
    reserved: tuple[str, ...] = ()

    def __init__(self, optimize_mode: str = "maximize", seed: int | None = None) -> None:
        self.optimize_mode = OptimizeMode.parse(optimize_mode)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self._space: SearchSpace | None = None

    @property
    def space(self) -> SearchSpace:
        if self._space is None:
            raise RuntimeError(f"{type(self).__name__}: update_search_space was not called")
        return self._space

    async def update_search_space(self, search_space: dict) -> None:
        space = SearchSpace(search_space)
        space.require(self.supported, type(self).__name__)
        for p in space.root.params:
            if p.name in self.reserved:
                raise SearchSpaceError(
                    f"{p.path}: tuner {type(self).__name__} adds this key to its parameter sets; "
                    "rename the parameter"
                )
        self._space = space
        self._on_search_space(space)

    def _on_search_space(self, space: SearchSpace) -> None:
        """Hook: a new, validated space."""

    def loss(self, value: Any) -> float:
        """A result (number or ``{"default": number}``) as a loss: smaller is better."""
        return self.optimize_mode.to_loss(metric_scalar(value))

    def imported(self, data: Sequence[dict]) -> Iterator[tuple[dict, np.ndarray, float]]:
        """``(parameters, vector, loss)`` of each import_data record that fits the space.

        Records that do not fit (another space, a malformed entry, a bad value) are skipped
        with a warning: a warm start must never stop an experiment.
        """
        for i, record in enumerate(data):
            try:
                params = record["parameter"]
                yield params, self.space.encode(params), self.loss(record["value"])
            except (KeyError, TypeError, ValueError, SearchSpaceError) as err:
                log.warning("import_data: record %d skipped: %s", i, err)


def config_key(params: dict) -> str:
    """A canonical text for a configuration, to recognise one already tried."""
    return json.dumps(params, sort_keys=True, default=str)


class Optimizer(Protocol):
    """A pure ask/tell algorithm over a space's encoding (see asyncnni.search_space)."""

    def ask(self, pending: Sequence[np.ndarray]) -> np.ndarray:
        """The next vector to try; ``pending`` are vectors handed out without a result yet."""
        ...

    def tell(self, vector: np.ndarray, loss: float) -> None:
        """A result: smaller ``loss`` is better."""
        ...


class History:
    """Results in arrival order: the ``tell`` of optimisers that keep them all."""

    def __init__(self) -> None:
        self.vectors: list[np.ndarray] = []
        self.losses: list[float] = []

    def tell(self, vector: np.ndarray, loss: float) -> None:
        self.vectors.append(vector)
        self.losses.append(loss)


class ModelBasedTuner(BuiltinTuner):
    """Async shell around an :class:`Optimizer`: tracks pending parameter ids, feeds results.

    State is keyed on ``parameter_id`` only, so the tuner works unchanged when one trial job
    asks many times (multi-phase). Results are encoded from the parameters that actually ran.
    Subclasses set ``optimizer_class`` (built as ``optimizer_class(space, rng, **options)``
    with the keyword options given to ``__init__``); a heavy one sets ``ask_in_thread`` so
    the event loop stays free while it thinks.
    """

    optimizer_class: Callable[..., Optimizer]
    ask_in_thread = False

    def __init__(
        self, optimize_mode: str = "maximize", seed: int | None = None, **options: Any
    ) -> None:
        super().__init__(optimize_mode, seed)
        self._options = options
        self._optimizer: Optimizer | None = None
        self._pending: dict[int, np.ndarray] = {}
        self._ask_lock = anyio.Lock()

    def _on_search_space(self, space: SearchSpace) -> None:
        self._optimizer = self.optimizer_class(space, self.rng, **self._options)
        self._pending.clear()

    @property
    def optimizer(self) -> Optimizer:
        if self._optimizer is None:
            raise RuntimeError(f"{type(self).__name__}: update_search_space was not called")
        return self._optimizer

    async def generate_parameters(self, parameter_id: int, **info: Any) -> dict:
        optimizer = self.optimizer
        if not self.ask_in_thread:  # nothing awaits until it is done: no other ask overlaps
            return self._handed_out(parameter_id, optimizer.ask(list(self._pending.values())))
        # in the asynchronous dispatcher mode asks overlap: one at a time may think (a worker
        # thread must not share the model), and each sees the suggestions handed out before
        async with self._ask_lock:
            vector = await anyio.to_thread.run_sync(optimizer.ask, list(self._pending.values()))
            return self._handed_out(parameter_id, vector)

    def _handed_out(self, parameter_id: int, vector: np.ndarray) -> dict:
        params = self.space.decode(vector)
        self._pending[parameter_id] = self.space.encode(params)
        return params

    async def receive_trial_result(
        self, parameter_id: int, parameters: dict, value: float, **info: Any
    ) -> None:
        vector = self._pending.pop(parameter_id, None)
        if vector is None:  # not ours (e.g. a resumed experiment): encode what ran
            vector = self.space.encode(parameters)
        self.optimizer.tell(vector, self.loss(value))

    async def trial_end(self, parameter_id: int, success: bool, **info: Any) -> None:
        # a failed trial leaves no result: forget it, so it no longer counts as in flight
        self._pending.pop(parameter_id, None)

    async def import_data(self, data: list[dict]) -> None:
        for _, vector, loss in self.imported(data):
            self.optimizer.tell(vector, loss)
