"""Client-side errors, and JSON-RPC errors from a server turned into the right exit code."""

from __future__ import annotations

from mcpctl import envvars
from mcpctl.errors import (
    AuthError,
    BackendTimeoutError,
    McpctlError,
    RemoteError,
    UnavailableError,
    UsageError,
)
from mcpctl.protocol import codes

USER_REJECTED = -1  # what the spec suggests a client answers when the user refuses a request


class ToolError(McpctlError):
    """The tool ran and reported failure (`isError: true`); its output was already printed."""


class InputError(UsageError):
    """The server asked for input (elicitation, sampling) that this invocation cannot give."""

    jsonrpc_code = USER_REJECTED


def error_from_rpc(code: int, message: str, data: object, label: str) -> McpctlError:
    """The McpctlError for a JSON-RPC error a server (or the host in front of it) answered."""
    text = message or f"error {code}"
    if code == codes.UNAUTHORIZED:
        hint = f"set {envvars.API_KEY} to an API key for it (for the mcpctl host: one it accepts)"
        challenge = data.get("wwwAuthenticate") if isinstance(data, dict) else None
        if isinstance(challenge, str) and "resource_metadata" in challenge and label.startswith("http"):
            # an OAuth-protected server named by its URL (`--url`): a command that runs as printed
            hint = f"sign in with `mcpctl login {label}` (OAuth), or {hint}"
        return AuthError(f"{label} requires authentication: {text}", hint=hint)
    if code == codes.RATE_LIMITED:
        retry = data.get("retryAfter") if isinstance(data, dict) else None
        return UnavailableError(text, hint=f"retry after {retry} seconds" if retry is not None else None)
    kind = _BY_CODE.get(code)
    if kind is None:
        return RemoteError(code, f"{label}: {text}", data)
    return kind(f"{label}: {text}" if kind in (UsageError, AuthError) else text)


# How mcpctl's own codes (from the host) and the usual JSON-RPC ones map to exit codes.
_BY_CODE: dict[int, type[McpctlError]] = {
    codes.FORBIDDEN: AuthError,
    codes.BACKEND_TIMEOUT: BackendTimeoutError,
    codes.BACKEND_UNAVAILABLE: UnavailableError,
    codes.CIRCUIT_OPEN: UnavailableError,
    codes.NO_ROUTE: UnavailableError,
    codes.INVALID_PARAMS: UsageError,
    codes.METHOD_NOT_FOUND: UsageError,
}
