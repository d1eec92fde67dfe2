"""Where httpx's errors become mcpctl's: the real cause in a few words; `reaching` wraps each exchange."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import httpx

from mcpctl.errors import McpctlError, UnavailableError

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


@contextlib.contextmanager
def reaching(url: str, error: type[McpctlError] = UnavailableError) -> Iterator[None]:
    """Turn a failure to exchange with `url` (connect, TLS, timeout, protocol) into `error`."""
    try:
        yield
    except httpx.HTTPError as exc:
        raise error(f"cannot reach {url}: {describe(exc)}") from exc
