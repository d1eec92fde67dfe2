"""Errors and control-flow signals that demo server handlers raise."""

from __future__ import annotations

from mcpctl.demo.wire import MISSING_REQUIRED_CLIENT_CAPABILITY, JsonObject


class McpError(Exception):
    """A JSON-RPC error response; raise it from any handler."""

    def __init__(self, code: int, message: str, data: object = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> JsonObject:
        error: JsonObject = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class MissingCapabilityError(McpError):
    """The request needs a client capability that the client did not declare (-32021)."""

    def __init__(self, required: JsonObject) -> None:
        names = ", ".join(sorted(required))
        super().__init__(
            MISSING_REQUIRED_CLIENT_CAPABILITY,
            f"Client did not declare the required capability: {names}",
            {"requiredCapabilities": required},
        )


class ToolError(Exception):
    """Raised by a tool handler to return a tool execution error (a result with isError)."""


class InputRequired(Exception):  # a signal rather than an error, hence no Error suffix
    """Modern era: the handler needs client input; the request answers with an InputRequiredResult."""

    def __init__(self, input_requests: JsonObject, request_state: str | None) -> None:
        super().__init__(f"input required: {', '.join(input_requests)}")
        self.input_requests = input_requests
        self.request_state = request_state

    def to_result(self) -> JsonObject:
        result: JsonObject = {"resultType": "input_required", "inputRequests": self.input_requests}
        if self.request_state is not None:
            result["requestState"] = self.request_state
        return result
