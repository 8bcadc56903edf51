"""The asyncio core, in parts: the ledger (state, ids, limits), the socket server (bursts,
group commit, outbox), the tuner scheduling (serial stream, asynchronous requests), the
observer (what the views show) and the routing between them (:class:`Dispatcher`)."""

from .core import PARAMETER_SOURCE, Dispatcher
from .ledger import Ledger, ParameterState
from .observer import Best, Change, ExperimentObserver, Progress

__all__ = [
    "PARAMETER_SOURCE",
    "Best",
    "Change",
    "Dispatcher",
    "ExperimentObserver",
    "Ledger",
    "ParameterState",
    "Progress",
]
