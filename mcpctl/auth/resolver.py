"""`${keyring:NAME}` in a server's env and headers: values fetched off the event loop, kept fresh."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path

import anyio
import anyio.abc

from mcpctl.audit.redact import KnownSecrets
from mcpctl.auth.secretbook import SECRET_NAME
from mcpctl.auth.store import SecretStore, secret_user
from mcpctl.config.models import Config
from mcpctl.errors import McpctlError, UsageError

log = logging.getLogger(__name__)

REFERENCE = re.compile(r"\$\{keyring:([^}]*)\}")
WATCH_SECONDS = 1.0


class SecretMissing(McpctlError):
    """A server refers to a secret nobody has set; names the secret and the command that sets it."""


def references(config: Config) -> dict[str, set[str]]:
    """Secret name -> the enabled servers whose env or headers refer to it."""
    found: dict[str, set[str]] = {}
    for server, cfg in config.enabled_servers().items():
        for value in (*cfg.env.values(), *cfg.headers.values()):
            for match in REFERENCE.finditer(value):
                name = match.group(1)
                if not SECRET_NAME.match(name):
                    raise UsageError(
                        f"server {server!r} refers to ${{keyring:{name}}}, which is not a valid secret name",
                        hint="secret names hold letters, digits, '_', '.' and '-'",
                    )
                found.setdefault(name, set()).add(server)
    return found


class SecretResolver:
    """A service: loads every referenced secret at start, reloads when `mcpctl secrets` changes them.

    `resolve` runs on the event loop when a child starts, so it only reads what was loaded; the
    keyring itself (D-Bus round trips) is only ever called from a worker thread.
    """

    def __init__(
        self,
        config: Config,
        open_store: Callable[[], SecretStore],
        index: Path,
        known: KnownSecrets | None = None,
    ) -> None:
        self._names = sorted(references(config))
        # every value loaded is told to the redaction point, before any child can print it
        self._known = known if known is not None else KnownSecrets()
        self._open_store = open_store
        self._index = index
        self._store: SecretStore | None = None
        self._values: dict[str, str] = {}
        self._stamp: tuple[int, int] | None = None
        self._wanted = asyncio.Event()

    name = "secrets"

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        if not self._names:
            task_status.started()
            return
        store = self._open_store()
        # No usable keyring: refuse to start, with the fix, rather than start servers without secrets.
        await asyncio.to_thread(store.check)
        self._store = store
        await self._load()
        missing = [n for n in self._names if n not in self._values]
        if missing:
            log.warning(
                "secret(s) %s not set: the servers that use them stay down until `mcpctl secrets set NAME`",
                ", ".join(missing),
            )
        task_status.started()
        await self._watch()

    async def drain(self) -> None:
        pass  # nothing of its own outlives the watch

    def resolve(self, server: str, value: str) -> str:
        if "${keyring:" not in value:
            return value

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            secret = self._values.get(name)
            if secret is None:
                self._wanted.set()  # look again soon: the user may be setting it right now
                raise SecretMissing(
                    f"server {server!r} needs the secret {name!r}, which is not set",
                    hint=f"run `mcpctl secrets set {name}` (the server is retried automatically)",
                )
            return secret

        return REFERENCE.sub(substitute, value)

    async def _load(self) -> None:
        self._stamp = self._index_stamp()
        store = self._store
        if store is None:
            return
        values = await asyncio.to_thread(_fetch, store, self._names)
        self._known.add(values.values())
        self._values = values

    async def _watch(self) -> None:
        """Reload when the secrets index changes (set/delete) or a missing secret was asked for."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wanted.wait(), WATCH_SECONDS)
            wanted = self._wanted.is_set()
            self._wanted.clear()
            if wanted or self._index_stamp() != self._stamp:
                try:
                    await self._load()
                except McpctlError as exc:  # the keyring went away: keep what we have
                    log.warning("could not reload secrets: %s", exc.message)

    def _index_stamp(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self._index)
        except OSError:
            return None
        return stat.st_ino, stat.st_mtime_ns


def _fetch(store: SecretStore, names: list[str]) -> dict[str, str]:
    values = {}
    for name in names:
        value = store.get(secret_user(name))
        if value is not None:
            values[name] = value
    return values
