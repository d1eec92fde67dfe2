"""MRTR requestState: the answers gathered so far, HMAC-signed and bound to one request."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Final

from mcpctl.demo.errors import McpError
from mcpctl.demo.wire import INVALID_PARAMS, JsonObject, Request

STATE_KEY_ENV: Final = "FIXTURE_STATE_KEY"
# A demo key, not a secret: a fixed default keeps requestState valid across child restarts.
DEFAULT_STATE_KEY: Final = "mcpctl-fixture-state"
STATE_TTL_SECONDS: Final = 3600


def state_key_from(environ: Mapping[str, str]) -> bytes:
    return environ.get(STATE_KEY_ENV, DEFAULT_STATE_KEY).encode()


def fingerprint(request: Request) -> str:
    """Binds a requestState to the request it was issued for (method, target, arguments)."""
    params = request.params
    target = {key: params.get(key) for key in ("name", "uri", "arguments")}
    blob = json.dumps([request.method, target], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


class StateSealer:
    """Seals answers into an opaque requestState and opens it again, refusing tampered ones."""

    def __init__(
        self,
        key: bytes | None = None,
        *,
        ttl: float = STATE_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = state_key_from(os.environ) if key is None else key
        self._ttl = ttl
        self._clock = clock

    def seal(self, request: Request, answers: JsonObject) -> str:
        payload = {"fp": fingerprint(request), "exp": int(self._clock() + self._ttl), "answers": answers}
        body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
        text = body.decode().rstrip("=")
        return f"{text}.{self._mac(text)}"

    def open(self, request: Request, state: str) -> JsonObject:
        body, _, mac = state.rpartition(".")
        # Bytes: compare_digest refuses non-ASCII str, and the state is attacker-controlled input.
        if not body or not hmac.compare_digest(mac.encode(), self._mac(body).encode()):
            raise McpError(INVALID_PARAMS, "requestState failed its integrity check")
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (binascii.Error, ValueError) as exc:
            raise McpError(INVALID_PARAMS, "requestState is unreadable") from exc
        if payload.get("fp") != fingerprint(request):
            raise McpError(INVALID_PARAMS, "requestState belongs to a different request")
        if payload.get("exp", 0) < self._clock():
            raise McpError(INVALID_PARAMS, "requestState has expired")
        answers: JsonObject = payload.get("answers", {})
        return answers

    def _mac(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()
