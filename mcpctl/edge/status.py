"""Operational endpoints: /health (alive), /ready (required servers up) and the local admin API."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from mcpctl import __version__
from mcpctl.edge.asgi import Request, Send, send_json
from mcpctl.protocol import codes

# What /ready may say about a server: state and counters, never stderr or error text, which can
# carry whatever a child printed (secrets included). The admin API, behind a token, says more.
_PUBLIC_FIELDS = ("name", "state", "required", "restarts", "tools", "retryIn")


_NO_STORE = [(b"cache-control", b"no-store")]


class HostStatus(Protocol):
    """What the status endpoints read from the running host."""

    def server_names(self) -> list[str]: ...

    def server_status(self, name: str) -> dict[str, Any]: ...

    def required_ready(self) -> bool: ...

    def restart(self, name: str) -> None: ...

    def session_count(self) -> int: ...

    def collisions(self) -> list[str]: ...

    def state_status(self) -> dict[str, Any] | None: ...


class StatusEndpoints:
    """/health and /ready answer without auth, at once, in JSON: fit for liveness and readiness probes.

    `status_fields` are what parts add to each server's status (the limits part: `breaker`); they
    hold states and counters only, so /ready shows them too.
    """

    def __init__(
        self,
        host: HostStatus,
        admin_token: str,
        status_fields: Sequence[Callable[[str], dict[str, Any]]] = (),
        scrub: Callable[[Any], Any] | None = None,
    ) -> None:
        self._host = host
        self._admin_token = admin_token
        self._status_fields = status_fields
        # what a child printed (stderr tail, errors) can hold a secret mcpctl gave it
        self._scrub = scrub or (lambda value: value)
        self._started = time.monotonic()

    async def health(self, request: Request, send: Send) -> None:
        await send_json(
            send,
            200,
            {
                "status": "ok",
                "version": __version__,
                "uptimeSeconds": round(time.monotonic() - self._started, 1),
                "servers": {
                    name: self._host.server_status(name)["state"] for name in self._host.server_names()
                },
            },
            _NO_STORE,
        )

    async def ready(self, request: Request, send: Send) -> None:
        ready = self._host.required_ready()
        servers = [
            {**{key: status[key] for key in _PUBLIC_FIELDS}, **self._contributed(status["name"])}
            for status in (self._host.server_status(name) for name in self._host.server_names())
        ]
        body: dict[str, Any] = {"ready": ready, "servers": servers, "sessions": self._host.session_count()}
        state = self._host.state_status()
        if state is not None:
            # Reported, not required: with the store down, stateless 2026-07-28 calls still work here.
            body["state"] = state
        await send_json(send, 200 if ready else 503, body, _NO_STORE)

    async def admin(self, request: Request, send: Send) -> None:
        supplied = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not supplied or not hmac.compare_digest(supplied.encode(), self._admin_token.encode()):
            await send_json(send, 401, _error("admin API: missing or wrong admin token"))
            return
        parts = [p for p in request.path.split("/") if p][1:]  # after "admin"
        if parts == ["servers"] and request.method == "GET":
            await send_json(send, 200, self.servers_report())
        elif len(parts) == 3 and parts[0] == "servers" and parts[2] == "restart" and request.method == "POST":
            if parts[1] not in self._host.server_names():
                await send_json(send, 404, _error(f"no server named {parts[1]!r}"))
                return
            self._host.restart(parts[1])
            await send_json(send, 202, {"restarting": parts[1]})
        else:
            await send_json(send, 404, _error("unknown admin endpoint"))

    def servers_report(self) -> dict[str, Any]:
        report = {
            "servers": [
                {**self._host.server_status(name), **self._contributed(name)}
                for name in self._host.server_names()
            ],
            "collisions": self._host.collisions(),
            "sessions": self._host.session_count(),
        }
        return self._scrub(report)  # type: ignore[no-any-return]

    def _contributed(self, server: str) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for contribute in self._status_fields:
            fields.update(contribute(server))
        return fields


def _error(message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": None, "error": {"code": codes.INVALID_REQUEST, "message": message}}
