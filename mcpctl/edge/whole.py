"""A whole request body read, and a whole response written, past uvicorn's per-message ASGI handling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, RequestResponseCycle

from mcpctl.edge.server import CorkedTransport


def write_whole(send: Callable[..., Any], status: int, content_type: bytes, body: bytes) -> bool:
    """Answer a request with `body` at once, as uvicorn's `send` would for the two ASGI messages
    of a response with these two headers; False where that is not sure (then use ASGI).

    uvicorn checks every header against two regular expressions, takes each message as a dict
    through a coroutine, and writes head and body apart: on a small answer that was about a
    quarter of what the host spends on a request it answers itself. The headers here are
    mcpctl's own (a media type and a length), so there is nothing to check.
    """
    cycle = getattr(send, "__self__", None)
    if type(cycle) is not RequestResponseCycle or cycle.response_started or cycle.flow.write_paused:
        return False
    status_line = STATUS_LINE.get(status)
    transport: Any = cycle.transport  # a CorkedTransport where mcpctl serves (uvicorn types it Transport)
    if status_line is None or type(transport) is not CorkedTransport:
        return False
    if cycle.disconnected:
        return True  # as uvicorn's send: nobody to answer
    cycle.response_started = True
    cycle.waiting_for_100_continue = False
    parts = [status_line]
    for name, value in cycle.default_headers:  # the Date header
        parts += (name, b": ", value, b"\r\n")
    parts += (b"content-type: ", content_type, b"\r\ncontent-length: ", str(len(body)).encode(), b"\r\n")
    if not cycle.keep_alive:
        parts.append(b"connection: close\r\n")
    parts.append(b"\r\n")
    if cycle.scope["method"] != "HEAD":
        parts.append(body)
    transport.write_now(b"".join(parts))
    cycle.response_complete = True
    cycle.message_event.set()
    if not cycle.keep_alive:
        transport.close()
    cycle.on_response()
    return True


def whole_body(receive: Callable[..., Any]) -> bytearray | None:
    """The request's body when all of it has arrived, taken as uvicorn's `receive` would hand it
    over in one message; None where that is not sure (then use ASGI).

    Small requests arrive whole before their task first runs: the message dict, the coroutine
    and the event's wait that `receive` costs each time bought nothing on them.
    """
    cycle = getattr(receive, "__self__", None)
    if (
        type(cycle) is not RequestResponseCycle
        or cycle.more_body
        or cycle.disconnected
        or cycle.response_complete
        or cycle.waiting_for_100_continue
    ):
        return None
    cycle.flow.resume_reading()  # as receive does: reading paused while a big body piled up
    cycle.message_event.clear()
    body: bytearray = cycle.body
    cycle.body = bytearray()
    return body
