"""Where the client's credentials for an HTTP server come from (pluggable; the environment for now)."""

from __future__ import annotations

from collections.abc import Mapping

from mcpctl import envvars


class EnvApiKey:
    """A bearer API key from $MCPCTL_API_KEY, sent once the server has asked for credentials (401).

    Waiting for the 401 means a key meant for the mcpctl host is not handed to every URL a
    person happens to call. Another source (the keyring) can stand in: anything with the
    same two methods.
    """

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._key = environ.get(envvars.API_KEY, "").strip()
        self._armed = False

    async def __call__(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._key}"} if self._armed else {}

    def upgrade(self) -> bool:
        """Start sending the key; False when there is none (or it was already sent and refused)."""
        if not self._key or self._armed:
            return False
        self._armed = True
        return True
