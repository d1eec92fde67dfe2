"""Reading a JSON-RPC message from a POST, and the errors that refuse one at the HTTP level."""

from __future__ import annotations

from typing import Any

from mcpctl.edge.asgi import BodyTooLarge, Request
from mcpctl.protocol import codes
from mcpctl.protocol.jsonrpc import Message, ParseError, error, invalid_request_reason, parse_message
from mcpctl.router.context import ANONYMOUS, Principal


class HttpError(Exception):
    """A request refused at the HTTP level, with the JSON-RPC error to put in the body."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        req_id: Any = None,
        data: Any = None,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = error(req_id, code, message, data)
        self.headers = headers


def principal_of(request: Request) -> Principal:
    """Set by the auth layer in the ASGI scope; anonymous when auth is off."""
    principal = request.scope.get("mcpctl.principal")
    return principal if isinstance(principal, Principal) else ANONYMOUS


def message_now(request: Request, max_body: int) -> Message | None:
    """The one JSON-RPC message in a POST body that arrived whole (no await), else None:
    `read_message` reads it. Most bodies arrive whole, and a coroutine for them costs a call."""
    try:
        body = request.body_now(max_body)
    except BodyTooLarge:
        raise _too_large(max_body) from None
    return None if body is None else _message_in(body)


async def read_message(request: Request, max_body: int) -> Message:
    """The one JSON-RPC message in a POST body, or an HttpError saying exactly what is wrong."""
    try:
        body = await request.body(max_body)
    except BodyTooLarge:
        raise _too_large(max_body) from None
    return _message_in(body)


def _too_large(max_body: int) -> HttpError:
    return HttpError(
        413,
        codes.PAYLOAD_TOO_LARGE,
        f"Request body is over the limit of {max_body} bytes (gateway.max_body_bytes)",
    )


def _message_in(body: bytes) -> Message:
    try:
        msg = parse_message(body)
    except ParseError as exc:
        if body.lstrip().startswith(b"["):
            raise HttpError(
                400, codes.INVALID_REQUEST, "JSON-RPC batches are not supported; send one message per POST"
            ) from exc
        raise HttpError(400, codes.PARSE_ERROR, f"Parse error: {exc}") from exc
    reason = invalid_request_reason(msg)
    if reason is not None:
        req_id = msg.get("id") if isinstance(msg.get("id"), str | int) else None
        raise HttpError(400, codes.INVALID_REQUEST, f"Invalid request: {reason}", req_id)
    return msg
