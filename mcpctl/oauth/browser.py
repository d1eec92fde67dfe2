"""The person's browser, through Python's webbrowser (so $BROWSER is honoured), off the event loop."""

from __future__ import annotations

import asyncio
import threading
import webbrowser
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def in_daemon_thread(work: Callable[[], T]) -> T:
    """Run blocking `work` in a daemon thread: unlike asyncio.to_thread, a call that never returns
    (a browser command that blocks, a read from the terminal) cannot hold up the process's exit."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def run() -> None:
        try:
            value = work()
        except BaseException as exc:  # handed to the awaiting coroutine
            loop.call_soon_threadsafe(_settle_error, future, exc)
        else:
            loop.call_soon_threadsafe(_settle, future, value)

    threading.Thread(target=run, name="mcpctl-oauth-io", daemon=True).start()
    return await future


def _settle(future: asyncio.Future[T], value: T) -> None:
    if not future.done():
        future.set_result(value)


def _settle_error(future: asyncio.Future[T], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


def browser_available() -> bool:
    """Whether webbrowser knows any browser here (none on a bare server over SSH)."""
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


class Browser:
    """Opens authorization URLs; `open` returns whether a browser was started."""

    def __init__(self, opener: Callable[[str], bool] | None = None) -> None:
        self._opener = opener or webbrowser.open

    async def open(self, url: str) -> bool:
        try:
            return bool(await in_daemon_thread(lambda: self._opener(url)))
        except (webbrowser.Error, OSError):
            return False

    async def available(self) -> bool:
        return await in_daemon_thread(browser_available)
