"""The gateway as an OAuth protected resource: its canonical URL, RFC 9728 metadata and challenges."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from mcpctl.edge.asgi import Scope
from mcpctl.loopback import LOOPBACK_NAMES, is_loopback_host

MCP_PATH = "/mcp"
METADATA_PATH = "/.well-known/oauth-protected-resource"
# RFC 9728 section 3.1: the resource's path is appended to the well-known prefix
METADATA_PATHS = frozenset({METADATA_PATH, METADATA_PATH + MCP_PATH})
_HOST_CHARS = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


def normalise_resource(url: str) -> str:
    """A configured public URL as the MCP endpoint's URL ("https://mcp.example.com" -> ".../mcp")."""
    url = url.rstrip("/")
    return url if url.endswith(MCP_PATH) else url + MCP_PATH


def _host_for_url(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@dataclass
class ProtectedResource:
    """What the gateway says about itself as a resource, and which token audiences it accepts.

    Without `public_url` or `audience`, the canonical URL is the listening address (known only
    once bound: read from the ASGI scope, never from a client's Host header, which anyone can set).
    """

    issuer: str | None
    scopes: list[str]
    public_url: str | None = None
    audience: str | None = None
    allowed_hosts: Iterable[str] = ()
    extra_scopes: list[str] = field(default_factory=list)
    _audiences: frozenset[str] | None = None

    def resource(self, scope: Scope) -> str:
        """The resource URL for this request (what its client should ask tokens for)."""
        if self.public_url:
            return normalise_resource(self.public_url)
        # The name the client used (so the metadata matches the URL it knows); only a hint; the
        # audience check never trusts it.
        host = _header(scope, b"host")
        if host and _HOST_CHARS.match(host):
            return f"{scope.get('scheme', 'http')}://{host}{MCP_PATH}"
        return self._bound_url(scope)

    def metadata_url(self, scope: Scope) -> str:
        parts = urlsplit(self.resource(scope))
        return f"{parts.scheme}://{parts.netloc}{METADATA_PATH}{parts.path}"

    def audiences(self, scope: Scope) -> frozenset[str]:
        """Token audiences accepted: the configured one, or every name of the listening address."""
        if self._audiences is None:
            if self.audience:
                accepted = {self.audience}
            elif self.public_url:
                accepted = {normalise_resource(self.public_url)}
            else:
                accepted = self._local_names(scope)
            self._audiences = frozenset(accepted)
        return self._audiences

    def _local_names(self, scope: Scope) -> set[str]:
        server = scope.get("server")
        names: set[str] = set()
        if server:
            host, port = str(server[0]), server[1]
            hosts = set(LOOPBACK_NAMES) if is_loopback_host(host) else {host}
            names = {f"http://{_host_for_url(h)}:{port}{MCP_PATH}" for h in hosts}
        for allowed in self.allowed_hosts:  # names the operator said clients use
            names |= {f"http://{allowed}{MCP_PATH}", f"https://{allowed}{MCP_PATH}"}
        return names

    def _bound_url(self, scope: Scope) -> str:
        server = scope.get("server") or ("127.0.0.1", 0)
        return f"{scope.get('scheme', 'http')}://{_host_for_url(str(server[0]))}:{server[1]}{MCP_PATH}"

    def metadata(self, scope: Scope) -> dict[str, Any]:
        return {
            "resource": self.resource(scope),
            "authorization_servers": [self.issuer] if self.issuer else [],
            "scopes_supported": sorted({*self.scopes, *self.extra_scopes}),
            "bearer_methods_supported": ["header"],
            "resource_name": "mcpctl gateway",
        }

    def challenge(
        self,
        scope: Scope,
        *,
        error: str | None = None,
        description: str | None = None,
        needed: Iterable[str] = (),
    ) -> bytes:
        """A WWW-Authenticate value (RFC 6750 section 3, RFC 9728 section 5.1)."""
        parts = []
        if error:
            parts.append(f'error="{error}"')
        if description:
            parts.append(f'error_description="{_quotable(description)}"')
        wanted = " ".join(needed) or " ".join(self.scopes)
        if wanted:
            parts.append(f'scope="{wanted}"')
        parts.append(f'resource_metadata="{self.metadata_url(scope)}"')
        return ("Bearer " + ", ".join(parts)).encode("latin-1", "replace")


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


def _quotable(text: str) -> str:
    # RFC 6750: error_description is limited to printable ASCII without '"' and '\'
    return "".join(c for c in text if 0x20 <= ord(c) <= 0x7E and c not in '"\\')
