"""What can go wrong signing in to an MCP server, each with its exit code; and redaction of secrets."""

from __future__ import annotations

from collections.abc import Iterable

from mcpctl.errors import AuthError, UnavailableError

REDACTED = "[redacted]"


class OAuthError(AuthError):
    """Signing in failed or was refused (exit 4); the message says what to do next."""


class DiscoveryError(OAuthError):
    """The server's or authorization server's metadata is missing, unsafe or inconsistent."""


class CallbackRejected(OAuthError):
    """The browser came back with a response that is not this login's (state, iss) or malformed."""


class LoginCancelled(OAuthError):
    """The person (or the authorization server) declined: access_denied and friends."""


class TokenEndpointError(OAuthError):
    """The token endpoint answered with an OAuth error (RFC 6749 §5.2)."""

    def __init__(self, message: str, *, error: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.error = error


class LoginRequired(OAuthError):
    """There is no usable login for a URL (none, expired for good, or refused): log in (again).

    The command that fixes it is part of the message itself, not a hint: the host shows only the
    first line of a server's error (`mcpctl servers`).
    """

    def __init__(self, problem: str, url: str, *, again: bool = False) -> None:
        super().__init__(f"{problem}; {login_hint(url)}" + (" again" if again else ""))
        self.url = url


class AuthServerUnavailable(UnavailableError):
    """The authorization server could not be reached (exit 3); transient, try again later."""


def login_hint(url: str, scopes: Iterable[str] = ()) -> str:
    """The command that fixes a missing or expired login (with the scopes a server asked for)."""
    wanted = " ".join(scopes)
    return f"run `mcpctl login {url}" + (f" --scope '{wanted}'`" if wanted else "`")


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret value replaced: tokens never reach a message, a log or a terminal."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text
