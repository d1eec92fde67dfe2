"""The fleet's shared keys: from the configuration (an environment variable or the keyring), newest first."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping

from mcpctl import envvars
from mcpctl.config.models import StateConfig
from mcpctl.errors import UsageError
from mcpctl.sealing import KEY_BYTES, KeyRing

_REFERENCE = re.compile(r"^\$\{(env|keyring):([^}]+)\}$")
KEYGEN_HINT = (
    'make one with: python3 -c "import base64, secrets; '
    'print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())"'
)


def fleet_keys(
    state: StateConfig, environ: Mapping[str, str], read_secret: Callable[[str], str | None]
) -> KeyRing:
    """The key ring every instance of the fleet shares: it seals requestState and signs question ids.

    `read_secret(name)` reads a `${keyring:NAME}` secret. A fleet without a shared key would refuse
    every token another instance issued: that is a configuration error, said with the fix.
    """
    written = state.keys or [
        part.strip() for part in environ.get(envvars.FLEET_KEYS, "").split(",") if part.strip()
    ]
    if not written:
        raise UsageError(
            "a fleet (a state store) needs keys every instance shares",
            hint=f'set {envvars.FLEET_KEYS} (or [state] keys = ["${{keyring:fleet-key}}"]); {KEYGEN_HINT}',
        )
    return KeyRing([_decode(_resolve(value, environ, read_secret)) for value in written])


def _resolve(value: str, environ: Mapping[str, str], read_secret: Callable[[str], str | None]) -> str:
    found = _REFERENCE.match(value)
    if found is None:
        return value  # written as is (from $MCPCTL_FLEET_KEYS)
    kind, name = found.groups()
    text = environ.get(name) if kind == "env" else read_secret(name)
    if not text:
        where = f"the environment variable {name}" if kind == "env" else f"the keyring secret {name!r}"
        raise UsageError(f"[state] keys: {where} is not set", hint=KEYGEN_HINT)
    return text


def _decode(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise UsageError(f"a fleet key must be {KEY_BYTES} random bytes, base64url-encoded", hint=KEYGEN_HINT)
    return key
