"""Where httpx's errors become mcpctl's: every outgoing HTTP exchange is wrapped in `reaching`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx

from mcpctl.errors import McpctlError, UnavailableError


def reason(exc: httpx.HTTPError) -> str:
    """The first line of what went wrong, in httpx's words (its class name when it has none)."""
    return (str(exc) or type(exc).__name__).splitlines()[0]


@contextlib.contextmanager
def reaching(url: str, error: type[McpctlError] = UnavailableError) -> Iterator[None]:
    """Turn a failure to exchange with `url` (connect, TLS, timeout, protocol) into `error`."""
    try:
        yield
    except httpx.HTTPError as exc:
        raise error(f"cannot reach {url}: {reason(exc)}") from exc
