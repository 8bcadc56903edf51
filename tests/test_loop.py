"""The dispatcher's event-loop building blocks: eager starts and the ordered command stream.

Each test drives them from a loop callback, where the dispatcher's socket reader calls them."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import anyio
import anyio.to_thread
import pytest

from asyncnni._loop import CommandStream, RequestTasks, start_eagerly

pytestmark = pytest.mark.anyio

where: contextvars.ContextVar[str] = contextvars.ContextVar("where", default="outside")


async def from_a_callback(fn):
    """``fn()`` called from a plain loop callback (no task is current there), its result."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def call() -> None:
        assert asyncio.current_task() is None
        try:
            done.set_result(fn())
        except BaseException as err:
            done.set_exception(err)

    loop.call_soon(call)
    return await done


async def test_a_coroutine_that_never_waits_is_done_before_start_eagerly_returns():
    seen = []

    async def quick():
        seen.append(asyncio.current_task())
        where.set("inside")

    assert await from_a_callback(lambda: start_eagerly(quick())) is None
    assert isinstance(seen[0], asyncio.Task)  # it ran as a task, with a context of its own
    assert where.get() == "outside"


async def test_an_error_of_a_coroutine_that_never_waits_is_raised_by_start_eagerly():
    async def broken():
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        await from_a_callback(lambda: start_eagerly(broken()))


async def test_a_coroutine_that_never_waits_leaves_no_task_behind():
    # as a 3.12 eager task: nothing pending in the loop after it, whatever it scheduled
    ran, scheduled = [], []
    loop = asyncio.get_running_loop()

    async def quick(schedule: bool):
        ran.append(asyncio.current_task())
        if schedule:  # something queued behind the task's own first step
            loop.call_soon(scheduled.append, True)

    def start_both():
        before = asyncio.all_tasks()
        results = [start_eagerly(quick(False)), start_eagerly(quick(True))]
        return results, asyncio.all_tasks() - before

    results, left = await from_a_callback(start_both)
    assert results == [None, None] and left == set()
    await asyncio.sleep(0)
    assert scheduled == [True] and len(ran) == 2  # each ran once, the callback too


async def test_a_coroutine_that_waits_goes_on_in_the_task_it_started_as():
    gate = asyncio.get_running_loop().create_future()
    tasks = []

    async def waits():
        tasks.append(asyncio.current_task())
        value = await gate
        tasks.append(asyncio.current_task())
        return value * 2

    task = await from_a_callback(lambda: start_eagerly(waits()))
    assert task is tasks[0] and not task.done()
    gate.set_result(21)
    assert await task == 42 and tasks == [task, task]


async def test_anyio_cancel_scopes_and_threads_work_across_the_first_wait():
    # what built-in tuners do: a worker thread under a cancel scope, entered in the first step
    async def in_a_thread():
        with anyio.CancelScope():
            return await anyio.to_thread.run_sync(threading.current_thread)

    task = await from_a_callback(lambda: start_eagerly(in_a_thread()))
    assert (await task) is not threading.current_thread()


async def test_a_task_cancelled_before_it_resumes_is_cancelled_where_it_waits():
    started, cleaned = [], []

    async def waits_for_ever():
        started.append(True)
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            cleaned.append(True)

    task = await from_a_callback(lambda: start_eagerly(waits_for_ever()))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert started == cleaned == [True]


async def test_inside_a_task_start_eagerly_still_runs_the_coroutine():
    async def value():
        await asyncio.sleep(0)
        return 7

    task = start_eagerly(value())  # a task is current here: an ordinary start
    assert task is not None and await task == 7


async def test_the_stream_runs_commands_in_order_and_waits_for_one_that_waits():
    log, errors, done = [], [], []
    gate = asyncio.get_running_loop().create_future()
    stream = CommandStream(errors.append, lambda: done.append(len(log)))

    def command(name, wait=False):
        async def run():
            log.append(f"{name} starts")
            if wait:
                await gate
            log.append(f"{name} ends")

        return run

    def put_and_run():
        for name, wait in (("a", False), ("b", True), ("c", False)):
            stream.put(command(name, wait))
        stream.run()
        return list(log)

    assert await from_a_callback(put_and_run) == ["a starts", "a ends", "b starts"]
    gate.set_result(None)
    with anyio.fail_after(5):
        while len(log) < 6:
            await asyncio.sleep(0)
    assert log == ["a starts", "a ends", "b starts", "b ends", "c starts", "c ends"]
    # on_done after each command that ran in the task, from the one that waited on
    assert done == [4, 6] and errors == []


async def test_an_error_escaping_a_command_goes_to_on_error_and_the_stream_goes_on():
    log, errors = [], []
    stream = CommandStream(errors.append, lambda: None)

    async def broken():
        raise RuntimeError("escaped")

    async def after():
        log.append("after")

    def put_and_run():
        stream.put(broken)
        stream.put(after)
        stream.run()

    await from_a_callback(put_and_run)
    assert [str(e) for e in errors] == ["escaped"] and log == ["after"]


async def test_a_cancellable_command_cancelled_in_its_first_step_is_cancelled_where_it_waits():
    outcome = []
    stream = CommandStream(outcome.append, lambda: None)

    async def cancels_itself_then_waits():
        stream.cancel_running()  # as a stop that a tuner's call triggers at once
        try:
            await asyncio.get_running_loop().create_future()
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    def put_and_run():
        stream.put(cancels_itself_then_waits, cancellable=True)
        stream.run()

    await from_a_callback(put_and_run)
    with anyio.fail_after(5):
        while not outcome:
            await asyncio.sleep(0)
    assert outcome == ["cancelled"]


async def test_a_command_cancelled_while_it_waits_does_not_cancel_the_next():
    log = []
    stream = CommandStream(log.append, lambda: None)
    gate = asyncio.get_running_loop().create_future()

    async def request():
        try:
            await asyncio.get_running_loop().create_future()
        except asyncio.CancelledError:
            log.append("request cancelled")  # and answered: the cancellation ends here

    async def after():
        await gate
        with anyio.fail_after(5):  # a timeout is not confused by the cancel before
            await asyncio.sleep(0)
        log.append("after ran")

    def put_and_run():
        stream.put(request, cancellable=True)
        stream.put(after)
        stream.run()

    await from_a_callback(put_and_run)
    stream.cancel_running()
    await asyncio.sleep(0)
    stream.cancel_running()  # now `after` runs, which is not cancellable
    gate.set_result(None)
    with anyio.fail_after(5):
        while len(log) < 2:
            await asyncio.sleep(0)
    assert log == ["request cancelled", "after ran"]


async def test_close_cancels_the_command_that_waits_and_drops_the_rest():
    log = []
    stream = CommandStream(log.append, lambda: None)

    async def waits():
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            log.append("waiting one ended")

    async def never():
        log.append("ran")

    def put_and_run():
        stream.put(waits)
        stream.put(never)
        stream.run()

    await from_a_callback(put_and_run)
    await stream.close()
    assert log == ["waiting one ended"]


async def test_a_request_cancelled_in_its_first_step_is_cancelled_where_it_waits():
    outcome = []
    requests = RequestTasks(outcome.append, lambda: outcome.append("done"))

    async def request():
        requests.cancel_all()
        try:
            await asyncio.get_running_loop().create_future()
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    await from_a_callback(lambda: requests.spawn(request()))
    with anyio.fail_after(5):
        while "done" not in outcome:
            await asyncio.sleep(0)
    assert outcome == ["cancelled", "done"]
