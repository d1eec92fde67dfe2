"""The URLs of OAuth discovery (RFC 9728, RFC 8414, OIDC, 2025-03-26) and the checks URLs must pass."""

from __future__ import annotations

import ipaddress
from typing import Literal
from urllib.parse import SplitResult, urlsplit, urlunsplit

from mcpctl.oauth.errors import DiscoveryError

PRM_WELL_KNOWN = "/.well-known/oauth-protected-resource"
OAUTH_WELL_KNOWN = "/.well-known/oauth-authorization-server"
OIDC_WELL_KNOWN = "/.well-known/openid-configuration"
_DEFAULT_PORTS = {"http": 80, "https": 443}
MetadataKind = Literal["rfc8414", "oidc", "defaults"]


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, what: str) -> str:
    """An absolute http(s) URL without a fragment; plain http only on loopback (OAuth 2.1 §1.5)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise DiscoveryError(f"{what} {url!r} is not an absolute http(s) URL")
    if parts.fragment:
        raise DiscoveryError(f"{what} {url!r} has a fragment, which OAuth forbids")
    if parts.scheme.lower() == "http" and not is_loopback(url):
        raise DiscoveryError(
            f"{what} {url!r} is plain http on a remote host; OAuth requires https there",
            hint="use the server's https:// address",
        )
    return url


def canonical_resource(url: str) -> str:
    """The server URL as a resource identifier (RFC 8707): lowercase scheme and host, no fragment,
    no lone trailing slash. The path and any query stay exactly as written."""
    parts = urlsplit(url)
    netloc = parts.netloc
    host = parts.hostname or ""
    if host:
        userinfo, _, hostport = netloc.rpartition("@")
        hostport = hostport.lower()
        netloc = f"{userinfo}@{hostport}" if userinfo else hostport
    path = "" if parts.path == "/" else parts.path
    return urlunsplit((parts.scheme.lower(), netloc, path, parts.query, ""))


def origin(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), "", "", ""))


def protected_resource_candidates(server_url: str) -> list[str]:
    """RFC 9728 well-known URLs, in the spec's order: path-inserted first, then the root."""
    path = urlsplit(server_url).path.rstrip("/")
    base = origin(server_url)
    root = base + PRM_WELL_KNOWN
    return [base + PRM_WELL_KNOWN + path, root] if path else [root]


def auth_server_candidates(issuer: str) -> list[tuple[str, MetadataKind]]:
    """(URL, kind) of an issuer's metadata, in the spec's order (RFC 8414 §3.1 and §5, OIDC)."""
    parts = urlsplit(issuer)
    base = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    path = parts.path.rstrip("/")
    if not path:
        return [(base + OAUTH_WELL_KNOWN, "rfc8414"), (base + OIDC_WELL_KNOWN, "oidc")]
    return [
        (base + OAUTH_WELL_KNOWN + path, "rfc8414"),
        (base + OIDC_WELL_KNOWN + path, "oidc"),
        (base + path + OIDC_WELL_KNOWN, "oidc"),
    ]


def resource_covers(resource: str, server_url: str) -> bool:
    """Whether a protected-resource `resource` identifies `server_url`: the same origin, and a
    path that is the server's path or a parent of it (a root resource covers every path)."""
    a, b = urlsplit(resource), urlsplit(server_url)
    if _authority(a) != _authority(b):
        return False
    if a.fragment or a.query:
        return False
    parent = a.path.rstrip("/")
    child = b.path.rstrip("/")
    return child == parent or child.startswith(parent + "/")


def _authority(parts: SplitResult) -> tuple[str, str, int | None]:
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)


def legacy_endpoints(server_url: str) -> dict[str, str]:
    """The 2025-03-26 default endpoints, relative to the authorization base URL (the origin)."""
    base = origin(server_url)
    return {
        "authorization_endpoint": base + "/authorize",
        "token_endpoint": base + "/token",
        "registration_endpoint": base + "/register",
    }
