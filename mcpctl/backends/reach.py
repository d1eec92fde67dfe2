"""Whether a remote server can be reached: the real cause of a failed connection, and an idle check."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable

import httpx

# Failures that mean "nobody is listening there" (refused, no route, unknown name, no answer to
# the connection attempt): the server is down, not just one call. Anything later (a read error
# mid-response, a timeout waiting for an answer) is the call's failure only.
UNREACHABLE = (httpx.ConnectError, httpx.ConnectTimeout)


def describe(exc: BaseException) -> str:
    """The cause of an httpx failure in a few words: "connection refused", not "All connection
    attempts failed" (httpx's text when every address refused)."""
    seen: BaseException | None = exc
    while seen is not None:
        errno = getattr(seen, "errno", None)
        if isinstance(seen, OSError) and isinstance(errno, int):
            # the system's words for errno (asyncio puts "Connect call failed (...)" in strerror)
            text = os.strerror(errno) if errno > 0 else seen.strerror or ""
            if text:
                return text[0].lower() + text[1:]
        seen = seen.__cause__ or seen.__context__
    if isinstance(exc, httpx.TimeoutException) and not str(exc):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0]


class IdleCheck:
    """Checks a connection nothing has used for `interval` seconds, so an outage is noticed (and
    /ready says so) without waiting for a call to fail.

    `check()` returns normally when the server answered anything, and raises one of UNREACHABLE
    when it is down; then `lost(cause)` is called once and the check stops.
    """

    def __init__(
        self,
        interval: float,
        check: Callable[[], Awaitable[None]],
        lost: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = interval
        self._check = check
        self._lost = lost
        self._clock = clock
        self.last_answer = clock()

    def answered(self) -> None:
        """The server answered something: it is up; the next check can wait."""
        self.last_answer = self._clock()

    async def run(self) -> None:
        while True:
            quiet = self._clock() - self.last_answer
            await asyncio.sleep(max(self._interval - quiet, 0.05))
            if self._clock() - self.last_answer < self._interval:
                continue  # something answered meanwhile
            try:
                await self._check()
            except UNREACHABLE as exc:
                self._lost(describe(exc))
                return
            except httpx.HTTPError:
                pass  # it accepted the connection, then failed somehow: up, as far as this check goes
            self.answered()
