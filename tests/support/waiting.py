"""Wait on a condition with a deadline: tests never sleep a fixed time."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T], timeout: float = 20.0, interval: float = 0.02, message: str = ""
) -> T:
    """Poll `condition` until it returns something truthy; fail with `message` after `timeout`."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:  # the condition may raise until the thing it checks exists
            last_error = exc
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise TimeoutError(f"condition not met within {timeout}s: {message or condition}{detail}")
        time.sleep(interval)


async def until(
    condition: Callable[[], object], timeout: float = 5.0, interval: float = 0.005, message: str = ""
) -> None:
    """`wait_until` for a test that runs on an event loop: the loop goes on between the polls."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s: {message or condition}")
        await asyncio.sleep(interval)


def interrupted(proc: subprocess.Popen[str], timeout: float = 20.0) -> tuple[str, str]:
    """Press Ctrl-C on `proc` (SIGINT) and wait for it to end: its stdout and stderr. One that has
    not ended after `timeout` is killed, so a failing test leaves no process behind."""
    proc.send_signal(signal.SIGINT)
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"still running {timeout}s after Ctrl-C; its stderr:\n{err[-2000:]}") from None
