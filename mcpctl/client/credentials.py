"""Where the client's credentials for an HTTP server come from: an API key, sent once it is needed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from mcpctl.errors import McpctlError

if TYPE_CHECKING:
    from mcpctl.client.session import Credentials

KeyLookup = Callable[[str], "str | None"]


def local_key(environ: Mapping[str, str]) -> KeyLookup:
    """The key mcpctl's own commands present (see mcpctl.auth.local), for this environment."""

    def lookup(url: str) -> str | None:
        from mcpctl.auth.local import local_key_for

        return local_key_for(url, environ=environ)

    return lookup


class ApiKeyCredentials:
    """A bearer API key, looked up and sent only after the server refused a request without one.

    The lookup (by default `mcpctl.auth.local.local_key_for`: $MCPCTL_API_KEY, else for a
    loopback URL the newest key `mcpctl keys create` kept in the keyring) runs on a worker
    thread, since the keyring blocks. Waiting for a refusal means no key is read or sent when
    the server does not ask for one. Another source (an OAuth token) can stand in: anything
    with the same two methods.
    """

    def __init__(self, url: str, lookup: KeyLookup) -> None:
        self._url = url
        self._lookup = lookup
        self._key: str | None = None
        self._tried = False

    async def __call__(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._key}"} if self._key else {}

    async def upgrade(self) -> bool:
        """Find a key to retry with; False when there is none (or one was already sent)."""
        if self._tried:
            return False
        self._tried = True
        try:
            self._key = await asyncio.to_thread(self._lookup, self._url)
        except McpctlError:  # e.g. keys exist but no keyring can be read: carry on without one
            self._key = None
        return bool(self._key)


def credentials_for(url: str, environ: Mapping[str, str]) -> Credentials:
    """The OAuth login `mcpctl login URL` stored for this URL when there is one, else the API key."""
    from mcpctl.oauth.wiring import client_bearer

    bearer = client_bearer(url, environ)
    return bearer if bearer is not None else ApiKeyCredentials(url, local_key(environ))
