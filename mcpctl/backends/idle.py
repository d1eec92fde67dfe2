"""The idle check of a remote connection: an outage noticed before a call fails."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx

from mcpctl.reach import UNREACHABLE, describe


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
