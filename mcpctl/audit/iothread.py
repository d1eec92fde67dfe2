"""The audit file's own I/O thread: jobs in through a C queue, results back to the event loop."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar, cast

T = TypeVar("T")
# Called on the loop with a job's result, or with the exception it raised.
Done = Callable[[T | None, BaseException | None], None]


class FileThread:
    """The one thread that does the audit file's I/O, fed through a C queue: per batch that is
    cheaper than an executor (no locks, no concurrent futures), and the loop never waits on it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._jobs: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...], Done[Any]] | None]
        self._jobs = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="mcpctl-audit", daemon=True)
        self._thread.start()

    def run(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """`fn(*args)` in the thread, as a future to await."""
        future: asyncio.Future[T] = self._loop.create_future()
        self._jobs.put((fn, args, partial(_settle, future)))
        return future

    def submit(self, fn: Callable[..., T], args: tuple[Any, ...], done: Done[T]) -> None:
        """`fn(*args)` in the thread, then `done(result, None)` or `done(None, exception)` on the loop:
        for a caller that must see the outcome even when the task that asked has been cancelled."""
        self._jobs.put((fn, args, done))

    def close(self) -> None:
        """After the last job: the thread ends once it has done everything queued before this."""
        self._jobs.put(None)

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, args, done = job
            try:
                outcome: tuple[Any, BaseException | None] = (fn(*args), None)
            except BaseException as exc:  # handed to the loop, which logs it
                outcome = (None, exc)
            try:
                self._loop.call_soon_threadsafe(done, *outcome)
            except RuntimeError:
                return  # the loop is gone (the host was torn down without stopping the writer)


def _settle(future: asyncio.Future[T], result: T | None, exc: BaseException | None) -> None:
    if future.cancelled():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(cast(T, result))
