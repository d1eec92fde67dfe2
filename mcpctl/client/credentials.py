"""Where the client's credentials for an HTTP server come from: an API key, sent once it is needed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from mcpctl import envvars
from mcpctl.errors import McpctlError, UsageError

if TYPE_CHECKING:
    from mcpctl.auth.apikeys import KeyRecord
    from mcpctl.client.session import Credentials
    from mcpctl.paths import Paths

KeyLookup = Callable[[str], "str | None"]


class Notes(Protocol):
    """Where a client part says something to the person (the command's console, on stderr)."""

    def info(self, message: str) -> None: ...

    def warn(self, message: str) -> None: ...


@dataclass(frozen=True)
class KeyChoice:
    """Which local API key a command presents: `--key NAME`, else the default one (see default_key)."""

    name: str | None  # None: no local key (none made, or $MCPCTL_API_KEY decides)
    explicit: bool = False  # named with --key
    restricted: tuple[str, ...] = ()  # the key's tool globs (empty: whatever policy allows)
    default: str | None = None  # the key used without --key

    @property
    def shown(self) -> bool:
        """Whether to say which key is used: when it is not the one used by default."""
        return self.name is not None and self.name != self.default


def default_key(records: Mapping[str, KeyRecord], now: float) -> KeyRecord | None:
    """The key local commands use unless told otherwise: the oldest live key with access to every tool
    (keys made later, often for an agent and restricted to a few tools, never take its place), else the
    oldest live key."""
    live = [r for r in records.values() if r.usable(now) and r.retires is None]
    if not live:
        return None
    unrestricted = [r for r in live if not r.tools]
    return min(unrestricted or live, key=lambda r: r.created)


def choose_key(paths: Paths, name: str | None, environ: Mapping[str, str]) -> KeyChoice:
    """The local key for this command; `--key NAME` must name a usable key (else exit 2, with the names)."""
    from mcpctl.auth.apikeys import KeyFile

    if name is None and environ.get(envvars.API_KEY, "").strip():
        return KeyChoice(None)
    now = time.time()
    records = KeyFile.at(paths).load().records
    chosen = default_key(records, now)
    default = chosen.name if chosen else None
    if name is None:
        return KeyChoice(default, restricted=chosen.tools, default=default) if chosen else KeyChoice(None)
    live = sorted({r.name for r in records.values() if r.usable(now)})
    matching = [r for r in records.values() if r.name == name and r.usable(now) and r.retires is None]
    if not matching:
        raise UsageError(
            f"no usable API key named {name!r}",
            hint=f"use one of: {', '.join(live)}" if live else f"create it with `mcpctl keys create {name}`",
        )
    return KeyChoice(name, explicit=True, restricted=matching[0].tools, default=default)


def local_key(environ: Mapping[str, str], choice: KeyChoice) -> KeyLookup:
    """The key mcpctl's own commands present (see mcpctl.auth.local), for this environment and choice."""

    def lookup(url: str) -> str | None:
        from mcpctl.auth.local import local_key_for

        env = environ
        if choice.explicit:  # --key beats $MCPCTL_API_KEY
            env = {k: v for k, v in environ.items() if k != envvars.API_KEY}
        return local_key_for(url, environ=env, name=choice.name)

    return lookup


class ApiKeyCredentials:
    """A bearer API key, looked up and sent only after the server refused a request without one.

    The lookup (by default `mcpctl.auth.local.local_key_for`: $MCPCTL_API_KEY, else for a
    loopback URL the chosen key `mcpctl keys create` kept in the keyring) runs on a worker
    thread, since the keyring blocks. Waiting for a refusal means no key is read or sent when
    the server does not ask for one. Another source (an OAuth token) can stand in: anything
    with the same two methods.
    """

    def __init__(
        self, url: str, lookup: KeyLookup, choice: KeyChoice | None = None, notes: Notes | None = None
    ) -> None:
        self._url = url
        self._lookup = lookup
        self.choice = choice or KeyChoice(None)
        self._notes = notes
        self._key: str | None = None
        self._tried = False
        self.problem: McpctlError | None = None  # why no key could be read (said when refused)
        self.sent = False

    async def __call__(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._key}"} if self._key else {}

    async def upgrade(self) -> bool:
        """Find a key to retry with; False when there is none (or one was already sent)."""
        if self._tried:
            return False
        self._tried = True
        try:
            self._key = await asyncio.to_thread(self._lookup, self._url)
        except McpctlError as exc:  # e.g. keys exist but no keyring can be read: carry on without one
            self.problem = exc
            self._key = None
        self.sent = bool(self._key)
        if self.sent and self.choice.shown and self._notes is not None:
            self._notes.info(f"using API key {self.choice.name!r} (--key)")
        return self.sent


def credentials_for(url: str, environ: Mapping[str, str], notes: Notes, choice: KeyChoice) -> Credentials:
    """The OAuth login `mcpctl login URL` stored for this URL when there is one, else the API key."""
    from mcpctl.oauth.wiring import client_bearer

    bearer = client_bearer(url, environ, info=notes.info, warn=notes.warn)
    if bearer is not None:
        return bearer
    return ApiKeyCredentials(url, local_key(environ, choice), choice, notes)
