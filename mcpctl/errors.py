"""One exception root for mcpctl: each error knows its exit code and its JSON-RPC code."""

from __future__ import annotations

from enum import IntEnum

from mcpctl.protocol import codes


class ExitCode(IntEnum):
    """Process exit codes, documented in README under "Exit codes"."""

    OK = 0
    FAILURE = 1  # also: the tool reported isError
    USAGE = 2  # bad arguments, bad config, validation failures
    UNAVAILABLE = 3  # server unreachable, not running, or unavailable
    AUTH = 4  # authentication or authorization failed
    INTERRUPTED = 130  # Ctrl-C


class McpctlError(Exception):
    """Root of every error mcpctl raises on purpose; only the CLI turns it into an exit."""

    exit_code: ExitCode = ExitCode.FAILURE
    jsonrpc_code: int = codes.INTERNAL_ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  fix: {self.hint}"


class UsageError(McpctlError):
    """The user asked for something that cannot work as asked."""

    exit_code = ExitCode.USAGE
    jsonrpc_code = codes.INVALID_PARAMS


class ConfigError(UsageError):
    """A configuration file is wrong: names the file, the field and the fix (for every problem found)."""

    def __init__(
        self, path: str, field: str, problem: str, fix: str, *, more: list[tuple[str, str, str]] | None = None
    ) -> None:
        self.path = path
        self.field = field
        self.problem = problem
        self.problems = [(field, problem, fix), *(more or [])]
        lines = [
            f"{path}: {f}: {p}\n  fix: {x}" if f else f"{path}: {p}\n  fix: {x}" for f, p, x in self.problems
        ]
        super().__init__("\n".join(lines))

    def __str__(self) -> str:
        return self.message


class UnavailableError(McpctlError):
    """A server, backend or host cannot be reached or is not running."""

    exit_code = ExitCode.UNAVAILABLE
    jsonrpc_code = codes.BACKEND_UNAVAILABLE


class BackendTimeoutError(UnavailableError):
    """A backend did not answer within its deadline."""

    jsonrpc_code = codes.BACKEND_TIMEOUT


class AuthError(McpctlError):
    """Authentication or authorization failed."""

    exit_code = ExitCode.AUTH
    jsonrpc_code = codes.FORBIDDEN


class ProtocolError(McpctlError):
    """The peer broke the protocol (remote fault), as opposed to a local bug."""

    jsonrpc_code = codes.INVALID_REQUEST


class RemoteError(McpctlError):
    """The peer answered a request with a JSON-RPC error; carries it unchanged."""

    def __init__(self, code: int, message: str, data: object = None) -> None:
        super().__init__(message)
        self.jsonrpc_code = code
        self.data = data
