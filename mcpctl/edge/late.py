"""Calls that outlive a short grace get their client watched; one timer serves them all."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

GRACE = 0.05  # seconds a call runs before we watch for its client disconnecting


class LateCalls:
    """Runs each registered callback once its call has been running GRACE seconds (up to twice
    that), unless the call is discarded first.

    Most calls answer within milliseconds; a uvloop timer armed and cancelled for each of them cost
    about 3 us a call. Here a call costs a dict entry, and one timer runs while any is waiting.
    """

    __slots__ = ("_due", "_timer")

    def __init__(self) -> None:
        self._due: dict[object, tuple[float, Callable[[], None]]] = {}
        self._timer: asyncio.TimerHandle | None = None

    def add(self, key: object, callback: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        self._due[key] = (loop.time() + GRACE, callback)
        if self._timer is None:
            self._timer = loop.call_later(GRACE, self._sweep, loop)

    def discard(self, key: object) -> None:
        self._due.pop(key, None)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        due = [key for key, (at, _) in self._due.items() if at <= now]
        for key in due:
            _, callback = self._due.pop(key)
            callback()
        self._timer = loop.call_later(GRACE, self._sweep, loop) if self._due else None
