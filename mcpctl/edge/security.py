"""DNS-rebinding protection: Origin and Host validation as an ASGI layer (403 when wrong)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Iterable
from urllib.parse import urlsplit

from mcpctl.edge.asgi import ASGIApp, Receive, Scope, Send, direct, send_json
from mcpctl.loopback import is_loopback_host
from mcpctl.protocol import codes
from mcpctl.protocol.jsonrpc import error

# host[:port] as RFC 9110 allows it in Host: a name or IPv4 address, or an [IPv6] literal. Anything
# else (userinfo, paths, spaces) is refused rather than parsed leniently: `evil@127.0.0.1` is not
# 127.0.0.1.
_HOST_HEADER = re.compile(r"^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+))(?::(\d{1,5}))?$")


def _split_host(value: str) -> tuple[str, int | None]:
    """'127.0.0.1:8765' -> ('127.0.0.1', 8765); '[::1]:80' -> ('::1', 80); nonsense -> ('', None)."""
    match = _HOST_HEADER.match(value)
    if match is None:
        return "", None
    port = match.group(3)
    return (match.group(1) or match.group(2)).lower(), int(port) if port else None


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


_SEEN_LIMIT = 256


class OriginHostGuard:
    """Refuses requests whose Origin or Host could come from a DNS-rebinding attack.

    - An Origin header, when present, must be a loopback origin or one configured.
    - The Host header, on every request and whatever address the gateway listens on, must be an
      IP address, a loopback name (`localhost`) or a configured host. A rebinding attack reaches
      us with the attacker's host name in Host; a page whose URL holds an IP address is never a
      rebinding (its origin is that address), so IP literals (what probes and scrapers send) pass.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_origins: Iterable[str],
        allowed_hosts: Iterable[str],
    ) -> None:
        self._app = direct(app)
        self._origins = {o.rstrip("/").lower() for o in allowed_origins}
        # "name:port" allows that pair; a bare "name" allows it on any port
        self._hosts = {h.lower() for h in allowed_hosts}
        # verdicts on Host and Origin values already seen: clients send the same few every time
        self._seen: dict[tuple[bytes | None, bytes | None], str | None] = {}

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: a request let through is the inner app's own coroutine, so this
        # layer adds no frame that every resumption of the request would pass through.
        if scope["type"] == "http":
            problem = self._problem(scope)
            if problem is not None:
                return send_json(send, 403, error(None, codes.INVALID_REQUEST, f"Forbidden: {problem}"))
        return self._app(scope, receive, send)

    def _problem(self, scope: Scope) -> str | None:
        origin = host = None
        for name, value in scope["headers"]:
            if name == b"origin" and origin is None:
                origin = value
            elif name == b"host" and host is None:
                host = value
        key = (origin, host)
        if key in self._seen:
            return self._seen[key]
        problem = self._judge(
            None if origin is None else origin.decode("latin-1"),
            None if host is None else host.decode("latin-1"),
        )
        if len(self._seen) >= _SEEN_LIMIT:  # anyone can send new values: the memory stays bounded
            self._seen.clear()
        self._seen[key] = problem
        return problem

    def _judge(self, origin: str | None, host: str | None) -> str | None:
        if origin is not None and not self._origin_ok(origin):
            return f"Origin {origin!r} is not allowed (add it to gateway.allowed_origins if you trust it)"
        if host is not None and not self._host_ok(host):
            return f"Host {host!r} is not allowed (add it to gateway.allowed_hosts if you trust it)"
        return None

    def _origin_ok(self, origin: str) -> bool:
        if origin.rstrip("/").lower() in self._origins:
            return True
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and is_loopback_host((parts.hostname or "").lower())

    def _host_ok(self, host: str) -> bool:
        if host.lower() in self._hosts:
            return True
        name, _ = _split_host(host)
        if not name:
            return False
        return name in self._hosts or is_loopback_host(name) or _is_ip_literal(name)
