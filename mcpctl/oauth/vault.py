"""Where logins live: secrets in the SecretStore (off the event loop), summaries in a 0600 index file.

Keyrings cannot list their entries portably, so the index says which logins exist (for
`mcpctl auth status`, and for `mcpctl call --url` to know a URL has one) without touching the
keyring; it never holds a token or a client secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mcpctl.auth.store import SecretStore
from mcpctl.fsutil import write_atomically
from mcpctl.oauth.index import find_entry, read_index
from mcpctl.oauth.locks import held_blocking
from mcpctl.oauth.records import (
    VERSION,
    Login,
    client_user,
    registration_from_json,
    registration_json,
    token_user,
)
from mcpctl.oauth.registration import ClientRegistration
from mcpctl.oauth.urls import canonical_resource
from mcpctl.paths import ensure_private_dir


class Vault:
    """Logins and client registrations, read and written through worker threads."""

    def __init__(self, open_store: Callable[[], SecretStore], index: Path) -> None:
        self._open_store = open_store
        self._store: SecretStore | None = None
        self.index = index

    def _secrets(self) -> SecretStore:
        if self._store is None:
            self._store = self._open_store()
        return self._store

    @property
    def description(self) -> str:
        return self._secrets().description

    async def check(self) -> None:
        """Fail now (with the fix) when no store can keep a secret: before anyone signs in."""
        await asyncio.to_thread(self._secrets().check)

    # -- logins --------------------------------------------------------------------------------

    async def load(self, url: str) -> Login | None:
        entry = await asyncio.to_thread(find_entry, self.index, url)
        if entry is None:
            return None
        return await self.load_for(str(entry.get("issuer")), str(entry.get("resource")))

    async def load_for(self, issuer: str, resource: str) -> Login | None:
        text = await asyncio.to_thread(self._secrets().get, token_user(issuer, resource))
        return Login.from_secret_json(text) if text else None

    async def save(self, login: Login) -> None:
        await asyncio.to_thread(self._save, login)

    async def forget(self, url: str) -> Login | None:
        """Remove a login (secret and summary), and the dynamic client registration at its
        authorization server once no other login uses it; returns what was stored, if anything."""
        login = await self.load(url)
        await asyncio.to_thread(self._forget, url, login)
        return login

    def _save(self, login: Login) -> None:
        store = self._secrets()
        store.set(login.user, login.secret_json())
        with _edited_index(self.index) as logins:
            previous = logins.get(login.url)
            logins[login.url] = login.summary()
            if previous is not None:
                old_user = token_user(str(previous.get("issuer")), str(previous.get("resource")))
                still_used = any(
                    token_user(str(e.get("issuer")), str(e.get("resource"))) == old_user
                    for e in logins.values()
                )
                if old_user != login.user and not still_used:
                    store.delete(old_user)  # the server moved to another authorization server

    def _forget(self, url: str, login: Login | None) -> None:
        key = canonical_resource(url)
        with _edited_index(self.index) as logins:
            entry = logins.pop(key, None)
            if entry is None:
                match = next((u for u, e in logins.items() if e.get("resource") == key), None)
                entry = logins.pop(match, None) if match is not None else None
            issuer_still_used = login is not None and any(
                e.get("issuer") == login.issuer for e in logins.values()
            )
        if login is not None:
            self._secrets().delete(login.user)
            if login.client.kind == "dynamic" and not issuer_still_used:
                # A registration mcpctl made for itself and nothing uses any more: keeping it would
                # hand a stale client id to whatever answers at that issuer's address next.
                self._secrets().delete(client_user(login.issuer))
        elif entry is not None:
            self._secrets().delete(token_user(str(entry.get("issuer")), str(entry.get("resource"))))

    # -- client registrations ----------------------------------------------------------------

    async def registration(self, issuer: str) -> ClientRegistration | None:
        text = await asyncio.to_thread(self._secrets().get, client_user(issuer))
        found = registration_from_json(text) if text else None
        return found if found is not None and found.issuer == issuer else None

    async def save_registration(self, client: ClientRegistration) -> None:
        await asyncio.to_thread(self._secrets().set, client_user(client.issuer), registration_json(client))

    async def forget_registration(self, issuer: str) -> None:
        await asyncio.to_thread(self._secrets().delete, client_user(issuer))


@contextlib.contextmanager
def _edited_index(path: Path) -> Iterator[dict[str, dict[str, Any]]]:
    """Read, change (in the `with` body) and atomically rewrite the index, under its lock file."""
    ensure_private_dir(path.parent)
    with held_blocking(path.with_suffix(".lock")):
        logins = read_index(path)
        yield logins
        text = json.dumps({"v": VERSION, "logins": logins}, indent=2, sort_keys=True) + "\n"
        write_atomically(path, text, mode=0o600)
