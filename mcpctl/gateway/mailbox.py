"""The waiting half of a one-reader mailbox (a call's, a session's outbox): wake on news or a timeout."""

from __future__ import annotations

import asyncio


class Mailbox:
    """Lets one reader at a time wait until a writer calls `_wake`, or `timeout` passes.

    The reader awaits the future `_wait` returns, straight from its own coroutine: no coroutine
    of the helper's, so a mailbox costs no allocation beyond that future and its timer, if any.
    A wake resolves the future and cancels the timer; a timeout resolves the future itself. A
    reader cancelled mid-wait leaves its timer to the next wake, or to fire on a future already done.
    A reader that something else bounds (a call: the router's deadlines end it) waits without one.
    """

    __slots__ = ("_timer", "_waiter")

    _waiter: asyncio.Future[None] | None  # the subclass's __init__ sets it to None
    _timer: asyncio.TimerHandle | None  # the subclass's __init__ sets it to None; set with _waiter

    def _wait(self, timeout: float | None) -> asyncio.Future[None]:
        """A future to await at once: resolved by the next `_wake`, or after `timeout` seconds
        (never, for None: a uvloop timer armed and cancelled costs about 3 us)."""
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        if timeout is not None:
            self._timer = loop.call_later(timeout, _expire, waiter)
        return waiter

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            # Let go of the future and the timer at once: holding them (a uvloop timer above all)
            # for as long as the mailbox lives made each call measurably slower.
            self._waiter = None
            timer = self._timer
            if timer is not None:
                timer.cancel()
                self._timer = None
            if not waiter.done():
                waiter.set_result(None)


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
