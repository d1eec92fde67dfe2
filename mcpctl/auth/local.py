"""The API key local client commands (`mcpctl call`) present: $MCPCTL_API_KEY, else one from the keyring."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from mcpctl import envvars
from mcpctl.auth.apikeys import KeyFile, KeyRecord
from mcpctl.auth.store import SecretStore, apikey_user, open_store
from mcpctl.loopback import is_loopback_host
from mcpctl.paths import Paths


def local_key_for(
    url: str,
    *,
    paths: Paths | None = None,
    environ: Mapping[str, str] | None = None,
    name: str | None = None,
    store: Callable[[], SecretStore] | None = None,
    now: float | None = None,
) -> str | None:
    """The API key to send to `url`, or None (then send no Authorization header).

    1. $MCPCTL_API_KEY, for any URL (CI, or a remote gateway).
    2. For a loopback URL only (local keys never go to another machine): the plaintext kept in
       the keyring by `mcpctl keys create/rotate`, of the key called `name`, else of the newest
       usable key made on this machine.

    Blocking (keyring, file reads): from async code, call it through asyncio.to_thread. Raises
    KeyringUnavailable (an McpctlError) when keys exist but no keyring can be read; a client may
    catch that and carry on without a key.
    """
    env = os.environ if environ is None else environ
    from_env = env.get(envvars.API_KEY, "").strip()
    if from_env:
        return from_env
    if not is_loopback_host((urlsplit(url if "//" in url else f"//{url}").hostname or "").lower()):
        return None
    paths = paths or Paths.from_env(env)
    records = KeyFile.at(paths).load()
    record = _pick(records, name, time.time() if now is None else now)
    if record is None:
        return None
    keep = (store or (lambda: open_store(paths, environ=env)))()
    key = keep.get(apikey_user(record.name))
    # a stale entry (rotated or revoked since) would only earn a 401: send nothing instead
    return key if key is not None and record.matches(key) else None


def _pick(keys: KeyFile, name: str | None, now: float) -> KeyRecord | None:
    if name is not None:
        return keys.current(name, now)
    live = [r for r in keys.records.values() if r.usable(now) and r.retires is None]
    return max(live, key=lambda r: r.created) if live else None
