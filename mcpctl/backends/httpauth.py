"""A remote's credentials as the HTTP transport sees them: headers per request, and a reaction to 401/403."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol, runtime_checkable

HeaderSource = Callable[[], Awaitable[Mapping[str, str]]]


@runtime_checkable
class Reauthorizer(Protocol):
    """A HeaderSource that can also react to a 401/403 (OAuth: refresh, step up): True means
    "retry the request now"; it may raise an McpctlError that then answers the request."""

    async def unauthorized(self, status: int, challenge: str) -> bool: ...
