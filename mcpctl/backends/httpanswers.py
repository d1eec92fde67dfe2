"""What a Streamable HTTP exchange means in JSON-RPC: request headers, error answers, SSE answers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping

import httpx

from mcpctl.protocol import codes
from mcpctl.protocol.eras import MODERN_ERROR_CODES
from mcpctl.protocol.headers import param_headers, standard_headers
from mcpctl.protocol.jsonrpc import (
    REQUEST,
    RESPONSE,
    Message,
    ParseError,
    kind_of,
    params_of,
    parse_message,
)
from mcpctl.protocol.sse import SSEDecoder

ACCEPT = "application/json, text/event-stream"
# A legacy stream that ends before its response is resumed with GET + Last-Event-ID this often.
MAX_RESUMES = 5
MAX_RECONNECT_MS = 30_000  # a server's `retry:` is honoured up to this
Headers = Callable[[dict[str, str]], Awaitable[dict[str, str]]]


def request_headers(
    msg: Message,
    modern: bool,
    session_id: str | None,
    protocol_version: str | None,
    tool_schemas: Mapping[str, object],
) -> dict[str, str]:
    """A POST's headers: the mirrored 2026-07-28 ones, or the legacy session's."""
    headers = {"accept": ACCEPT, "content-type": "application/json"}
    if modern:
        headers.update(standard_headers(msg))
        if msg.get("method") == "tools/call":
            params = params_of(msg)
            schema = tool_schemas.get(params.get("name", ""))
            arguments = params.get("arguments")
            if schema is not None and isinstance(arguments, dict):
                headers.update(param_headers(schema, arguments))
    else:
        if session_id:
            headers["mcp-session-id"] = session_id
        if protocol_version:
            headers["mcp-protocol-version"] = protocol_version
    return headers


def failure(msg: Message, code: int, message: str, data: object = None) -> Message | None:
    """The error answer to `msg` (None when `msg` is not a request: nobody waits for it)."""
    if kind_of(msg) is not REQUEST:
        return None
    error: dict[str, object] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": msg["id"], "error": error}


def error_reply(
    url: str, msg: Message, status: int, headers: Mapping[str, str], body: bytes, modern: bool
) -> Message | None:
    """An HTTP error as the JSON-RPC error for the request's id."""
    if status in (401, 403):  # whatever the body says, the caller needs to know it was refused
        challenge = headers.get("www-authenticate", "")
        code = codes.UNAUTHORIZED if status == 401 else codes.FORBIDDEN
        detail = error_message(body)
        text = f"{url} refused the request (HTTP {status}{': ' + detail if detail else ''})"
        return failure(msg, code, text, {"status": status, "wwwAuthenticate": challenge})
    reply: Message | None = None
    with contextlib.suppress(ParseError):
        reply = parse_message(body)
    error = reply.get("error") if reply else None
    if isinstance(error, dict) and (not modern or error.get("code") in MODERN_ERROR_CODES or status != 404):
        if reply is not None and reply.get("id") is None and "id" in msg:
            reply = {**reply, "id": msg["id"]}
        if reply is not None and kind_of(reply) is RESPONSE:
            return reply
    # Not a modern JSON-RPC error: for a modern probe this means "a legacy server".
    return failure(msg, codes.INVALID_REQUEST, f"{url} answered HTTP {status}", {"status": status})


async def read_answer_stream(
    client: httpx.AsyncClient,
    url: str,
    headers: Headers,
    session_id: str | None,
    response: httpx.Response,
    msg: Message,
    deliver: Callable[[Message], None],
) -> bool:
    """Read an SSE response; resume it with Last-Event-ID if it ends before the answer."""
    decoder = SSEDecoder()
    answered = await consume_events(response, decoder, msg, deliver)
    resumes = 0
    while not answered and decoder.last_event_id is not None and resumes < MAX_RESUMES and session_id:
        resumes += 1
        if decoder.reconnect_ms:  # the server said how long to wait before coming back
            await asyncio.sleep(min(decoder.reconnect_ms, MAX_RECONNECT_MS) / 1000)
        sent = await headers(
            {
                "accept": "text/event-stream",
                "mcp-session-id": session_id,
                "last-event-id": decoder.last_event_id,
            }
        )
        async with client.stream("GET", url, headers=sent) as again:
            if again.status_code != 200:
                return False
            answered = await consume_events(again, decoder, msg, deliver)
    return answered


async def consume_events(
    response: httpx.Response, decoder: SSEDecoder, msg: Message, deliver: Callable[[Message], None]
) -> bool:
    """Deliver every message of an SSE response; True once the answer to `msg` was among them."""
    answered = False
    async for chunk in response.aiter_text():
        for event in decoder.feed(chunk):
            if event.event != "message" or not event.data.strip():
                continue  # priming events and comments
            try:
                reply = parse_message(event.data)
            except ParseError:
                continue
            if kind_of(reply) is RESPONSE and reply.get("id") == msg.get("id"):
                answered = True
            deliver(reply)
    return answered


async def session_gone(response: httpx.Response) -> bool:
    """The server no longer knows our session: 404 as the spec says, or the 400 "no valid session
    ID" that widespread SDK servers answer instead (a client that waits for 404 never recovers)."""
    if response.status_code == 404:
        return True
    if response.status_code != 400:
        return False
    return "session" in error_message(await response.aread()).lower()


def error_message(body: bytes) -> str:
    """The JSON-RPC error message in an HTTP error body, if there is one."""
    try:
        error = parse_message(body).get("error")
    except ParseError:
        return ""
    message = error.get("message") if isinstance(error, dict) else None
    return message[:200] if isinstance(message, str) else ""


async def relay_events(response: httpx.Response, deliver: Callable[[Message], None]) -> str | None:
    """Deliver every message of a session's GET stream until it ends; the last event id seen."""
    decoder = SSEDecoder()
    async for chunk in response.aiter_text():
        for event in decoder.feed(chunk):
            if event.data.strip():
                with contextlib.suppress(ParseError):
                    deliver(parse_message(event.data))
    return decoder.last_event_id
