"""`mcpctl deploy nginx`: nginx in front of a fleet, round robin, streams unbuffered, no POST re-sent."""

from __future__ import annotations

import math
import re

from mcpctl import envvars
from mcpctl.cli.deploy.facts import Facts, serve_flag
from mcpctl.edge.routes import (
    ADMIN_PREFIX,
    HEALTH_PATH,
    MCP_PATH,
    MESSAGES_PATH,
    METRICS_PATH,
    READY_PATH,
    SSE_PATH,
)
from mcpctl.errors import UsageError

_ADDRESS = re.compile(r"^(?:(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):)?(?P<port>\d{1,5})$")
_UNSPECIFIED = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "[::]": "[::1]"}  # noqa: S104
STREAM_KEEPALIVE_SECONDS = 15  # GET streams send a comment this often (mcpctl.edge.standalone)


def address(value: str, what: str) -> tuple[str | None, int]:
    """HOST:PORT (or PORT, when `what` allows it) checked, so nginx gets nothing it cannot parse."""
    found = _ADDRESS.match(value.strip())
    port = int(found.group("port")) if found else 0
    if found is None or not 0 < port < 65536:
        raise UsageError(f"{what} {value!r} is not HOST:PORT", hint=f"e.g. {what} 127.0.0.1:8765")
    return found.group("host"), port


def upstreams(facts: Facts, given: list[str], instances: int | None) -> list[str]:
    """--upstream HOST:PORT..., or N instances on consecutive ports from the configured one."""
    if given and instances is not None:
        raise UsageError("give --upstream or --instances, not both")
    if given:
        found = []
        for value in given:
            host, port = address(value, "--upstream")
            if host is None:
                raise UsageError(f"--upstream {value!r} has no host", hint="write HOST:PORT")
            found.append(f"{host}:{port}")
        return found
    count = 1 if instances is None else instances
    if not 0 < count <= 1000:
        raise UsageError("--instances must be between 1 and 1000")
    host = facts.config.gateway.host
    host = _UNSPECIFIED.get(host, f"[{host}]" if ":" in host else host)
    if facts.port + count - 1 > 65535:
        raise UsageError(f"{count} instances from port {facts.port} run past port 65535")
    return [f"{host}:{facts.port + n}" for n in range(count)]


def listen(value: str) -> str:
    host, port = address(value, "--listen")
    return f"{host}:{port}" if host else str(port)


def render(facts: Facts, servers: list[str], listen_on: str) -> str:
    """The configuration for nginx's http context (a conf.d file)."""
    body = facts.config.gateway.max_body_bytes
    # An answer may take a server's max_call_timeout before its first byte; GET streams talk every 15 s.
    read_timeout = max(3600, math.ceil(facts.longest_call) + 60)
    pool = "\n".join(f"    server {s} max_fails=1 fail_timeout=10s;" for s in servers)
    sticky = "\n".join(f"    server {s};" for s in servers)
    ports = ", ".join(s.rsplit(":", 1)[1] for s in servers)
    return f"""\
# nginx in front of a fleet of `mcpctl serve` instances sharing one Redis.
# Rendered by `mcpctl deploy nginx` ({facts.origin}).
# Install: save it as /etc/nginx/conf.d/mcpctl.conf (the http context), then `nginx -t && nginx -s reload`.
# Each instance runs `mcpctl serve {serve_flag("config")} FILE {serve_flag("port")} PORT \
{serve_flag("state")} redis://HOST:PORT/DB` (ports here: {ports})
# with the same ${envvars.FLEET_KEYS} everywhere (`mcpctl deploy kubernetes` renders a whole fleet).

upstream mcpctl {{
    # Round robin (nginx's default): a 2025-era session lives in Redis, so any instance serves
    # any request of it; an instance that refuses connections is left out for 10 s.
{pool}
    keepalive 32;
}}

upstream mcpctl_sse {{
    # The 2024-11-05 HTTP+SSE transport ({SSE_PATH}, then POSTs to {MESSAGES_PATH}) is bound to the
    # instance holding its stream: it needs sticky routing, here by client address. Clients whose
    # address changes mid-session (some NATs, mobile networks) need a single instance instead.
    ip_hash;
{sticky}
    keepalive 8;
}}

server {{
    listen {listen_on};
    # server_name mcp.example.com;  # and TLS here: listen 443 ssl; ssl_certificate ...;

    # [gateway] max_body_bytes: mcpctl answers a larger body itself (413 and a JSON-RPC error).
    client_max_body_size {body};

    proxy_http_version 1.1;
    proxy_set_header Connection "";  # keep-alive connections to the instances
    # The client's Host goes on as sent: an instance bound to loopback checks it against
    # [gateway] allowed_hosts (DNS-rebinding protection), so list your public name there.
    proxy_set_header Host $http_host;
    # For your logs only: mcpctl ignores X-Forwarded-For by design (any client can forge it), so
    # its rate limits and audit trail see this nginx as the peer; keys and tokens tell callers apart.
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    # Mcp-Session-Id, Mcp-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID and Authorization
    # pass through untouched in both directions: nothing here rewrites or drops them.

    # Server-sent events reach the client as they are written.
    proxy_buffering off;
    proxy_cache off;
    proxy_connect_timeout 5s;
    proxy_send_timeout 1h;
    # GET streams stay open for hours (a keep-alive comment every {STREAM_KEEPALIVE_SECONDS} s), and an
    # answer may take the longest max_call_timeout ({math.ceil(facts.longest_call)} s) before its first byte.
    proxy_read_timeout {read_timeout}s;

    # Fail over only when an instance cannot be reached. nginx never re-sends a POST an instance
    # has received (a tool call would run twice): that needs `non_idempotent`, which stays off.
    proxy_next_upstream error timeout;
    proxy_next_upstream_tries 3;
    proxy_next_upstream_timeout 10s;

    # {MCP_PATH} (both protocol eras), {HEALTH_PATH}, {READY_PATH}, OAuth metadata. {METRICS_PATH} here is
    # one instance's at random: let Prometheus scrape each instance directly.
    location / {{
        proxy_pass http://mcpctl;
    }}

    location = {SSE_PATH} {{
        proxy_pass http://mcpctl_sse;
    }}

    location {MESSAGES_PATH} {{
        proxy_pass http://mcpctl_sse;
    }}

    # Each instance's admin API (`mcpctl servers`) is local, behind a token of its own run.
    location {ADMIN_PREFIX} {{
        return 404;
    }}
}}
"""
