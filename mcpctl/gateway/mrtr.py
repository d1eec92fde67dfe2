"""Relaying a 2026-07-28 multi round-trip request to a client of an earlier revision.

A modern backend that needs input answers `input_required` with `inputRequests`; a legacy
client understands those only as server->client requests on the stream of its call. The
gateway asks the client each one, collects the answers, and retries the call with
`inputResponses` (and the backend's opaque `requestState`) — the client sees one call.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from mcpctl.gateway.calls import Call
from mcpctl.protocol import codes
from mcpctl.protocol.eras import Era
from mcpctl.protocol.jsonrpc import Message

MAX_ROUNDS = 8  # a backend that keeps asking must not hold a call open forever
_CAPABILITY = {
    "elicitation/create": "elicitation",
    "sampling/createMessage": "sampling",
    "roots/list": "roots",
}


class RelayFailed(Exception):
    """The input could not be gathered; carries the JSON-RPC error for the client."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.error = {"code": code, "message": message}


def needs_relay(call: Call, response: Message) -> bool:
    result = response.get("result")
    ctx = call.ctx
    return (
        isinstance(result, dict)
        and result.get("resultType") == "input_required"
        and ctx is not None
        and ctx.era is Era.LEGACY
        and ctx.session is not None
    )


async def relay(call: Call, response: Message, timeout: float) -> AsyncIterator[Message]:
    """Yield the server->client requests for the client, then retry the call at the backend.

    Raises RelayFailed when the client cannot answer (missing capability, no answer in time).
    """
    ctx = call.ctx
    assert ctx is not None
    assert ctx.session is not None
    assert call.upstream is not None
    assert call.sent is not None
    result: dict[str, Any] = response["result"]
    requests = result.get("inputRequests")
    requests = requests if isinstance(requests, dict) else {}
    waiting: list[tuple[str, asyncio.Future[Message]]] = []
    for key, request in requests.items():
        method = request.get("method") if isinstance(request, dict) else None
        capability = _CAPABILITY.get(method) if isinstance(method, str) else None
        if capability is None:
            raise RelayFailed(
                codes.INTERNAL_ERROR, f"server {call.server!r} asked for unknown input {method!r}"
            )
        if not ctx.can(capability):
            raise RelayFailed(
                codes.NO_ROUTE, f"server {call.server!r} needs {method}, which this client did not declare"
            )
        request_id, answer = ctx.session.expect_answer()
        waiting.append((key, answer))
        params = request.get("params")
        yield {
            "jsonrpc": "2.0",
            "id": request_id,
            "method": method,
            "params": params if isinstance(params, dict) else {},
        }
    try:
        answers = await asyncio.wait_for(asyncio.gather(*(answer for _, answer in waiting)), timeout)
    except TimeoutError:
        for _, answer in waiting:
            answer.cancel()
        raise RelayFailed(
            codes.BACKEND_TIMEOUT, f"the client did not answer server {call.server!r}'s request for input"
        ) from None
    except asyncio.CancelledError:
        if any(answer.cancelled() for _, answer in waiting):  # the session ended while we waited
            raise RelayFailed(
                codes.INTERNAL_ERROR, "the client's session ended while server input was pending"
            ) from None
        raise
    for msg in answers:
        error = msg.get("error")
        if error is not None:  # the client refused (or failed) to give the input: so does the call
            code = error.get("code") if isinstance(error, dict) else None
            text = error.get("message") if isinstance(error, dict) else None
            raise RelayFailed(
                code if isinstance(code, int) else codes.INTERNAL_ERROR,
                f"the client could not provide the input server {call.server!r} asked for: {text}",
            )
    responses = {
        key: msg["result"]
        for (key, _), msg in zip(waiting, answers, strict=True)
        if isinstance(msg.get("result"), dict)
    }
    params = dict(call.sent.get("params") or {})
    params["inputResponses"] = responses
    params.pop("requestState", None)
    if isinstance(result.get("requestState"), str):
        params["requestState"] = result["requestState"]
    call.reopen()
    call.upstream.forward(call, {**call.sent, "params": params})
