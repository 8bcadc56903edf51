"""Calling a plug-in (tuner, assessor) from the event loop, whatever style it is written in.

A plug-in's methods are ``async def`` (awaited) or plain ``def`` as in NNI (run in a worker
thread, so the event loop keeps serving trials while the plug-in thinks; see _threads). A method the
plug-in lacks is skipped, and keyword arguments a method cannot take are dropped, so
``def assess_trial(self, trial_job_id, trial_history)`` works although the dispatcher also
passes ``parameter_id``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from ._threads import run_in_thread


class PluginDriver:
    """Base of TunerDriver and AssessorDriver: adapts the methods named in ``METHODS``.

    Subclasses set ``KIND`` (for messages), ``METHODS`` and ``REQUIRED`` (methods the plug-in
    must have: constructing the driver raises TypeError without them), and call ``_call``.
    """

    KIND = "plug-in"
    METHODS: tuple[str, ...] = ()
    REQUIRED: tuple[str, ...] = ()

    def __init__(self, plugin: object) -> None:
        self.name = type(plugin).__name__
        # a subclass of nni.tuner.Tuner / nni.assessor.Assessor: called the way NNI calls it
        self.nni_conventions = bool(getattr(plugin, "_asyncnni_nni_conventions", False))
        self._exit_hooks = (getattr(plugin, "_on_exit", None), getattr(plugin, "_on_error", None))
        self._calls: dict[str, Callable[..., Awaitable[Any]] | None] = {
            name: _adapt(getattr(plugin, name, None)) for name in self.METHODS
        }
        for name in self.REQUIRED:
            if self._calls[name] is None:
                raise TypeError(f"{self.KIND} {self.name} has no {name} method")

    async def close(self, failed: bool) -> None:
        """The experiment ended: NNI's hook ``_on_exit()``, or ``_on_error()`` when it ended
        with an error, where the plug-in has it (in a worker thread: it may write files)."""
        hook = self._exit_hooks[1 if failed else 0]
        if callable(hook):
            await run_in_thread(hook)

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        call = self._calls[name]
        return None if call is None else await call(*args, **kwargs)


def _adapt(method: Callable[..., Any] | None) -> Callable[..., Awaitable[Any]] | None:
    if method is None:
        return None
    accepts = _accepted_keywords(method)

    def narrow(kwargs: dict[str, Any]) -> dict[str, Any]:
        if accepts is None:
            return kwargs
        return {k: v for k, v in kwargs.items() if k in accepts}

    if inspect.iscoroutinefunction(method):
        if accepts is None:  # nothing to narrow: the method itself, one coroutine less a call
            return method

        async def call_async(*args: Any, **kwargs: Any) -> Any:
            return await method(*args, **narrow(kwargs))

        return call_async

    async def call_in_thread(*args: Any, **kwargs: Any) -> Any:
        kw = narrow(kwargs)
        return await run_in_thread(lambda: method(*args, **kw))

    return call_in_thread


def _accepted_keywords(method: Callable[..., Any]) -> set[str] | None:
    """Names a method takes as keywords, or None when it takes any (``**kwargs``)."""
    try:
        params = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
