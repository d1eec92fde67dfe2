"""Plugs stored logins into HTTP transports: `mcpctl call --url` (may sign in again) and `serve` (never)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from mcpctl.oauth.index import find_entry, index_path
from mcpctl.paths import Paths

if TYPE_CHECKING:
    from mcpctl.oauth.bearer import OAuthBearer

log = logging.getLogger(__name__)


def locks_dir(paths: Paths) -> Path:
    return paths.runtime_dir / "oauth"


def client_bearer(
    url: str, environ: Mapping[str, str], *, info: Callable[[str], None], warn: Callable[[str], None]
) -> OAuthBearer | None:
    """For client commands: the login `mcpctl login URL` stored for `url`, or None when there is none.

    Only the (small, non-secret) index is read here: the keyring is asked on the first request.
    A server that asks for more scopes gets a new browser sign-in, where a browser can be opened.
    `info` and `warn` show the sign-in's messages (the command's console).
    """
    paths = Paths.from_env(environ)
    if find_entry(index_path(paths), url) is None:
        return None
    from mcpctl.auth.store import open_store
    from mcpctl.oauth.bearer import OAuthBearer
    from mcpctl.oauth.flow import SignIn
    from mcpctl.oauth.vault import Vault

    vault = Vault(lambda: open_store(paths, environ=environ, warn=warn), index_path(paths))
    sign_in = SignIn(vault, locks_dir(paths), info)  # stdin stays the command's own
    return OAuthBearer(url, vault, locks_dir(paths), sign_in=sign_in, sticky_forbidden=True)


class HostLogins:
    """For `mcpctl serve`: one vault shared by every `auth = "oauth"` server; no browser, ever."""

    def __init__(self, paths: Paths, environ: Mapping[str, str] | None = None) -> None:
        from mcpctl.auth.store import open_store
        from mcpctl.oauth.vault import Vault

        self._paths = paths
        self._vault = Vault(lambda: open_store(paths, environ=environ, warn=log.warning), index_path(paths))

    def bearer(self, url: str) -> OAuthBearer:
        from mcpctl.oauth.bearer import OAuthBearer

        return OAuthBearer(url, self._vault, locks_dir(self._paths))
