"""Relaying a 2026-07-28 multi round-trip request to a client of an earlier revision.

A modern backend that needs input answers `input_required` with `inputRequests`; a legacy
client understands those only as server->client requests on the stream of its call. The
router asks the client each one, collects the answers, and retries the call with
`inputResponses` (and the backend's opaque `requestState`): the client sees one call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mcpctl.protocol import codes
from mcpctl.protocol.capabilities import NEEDS, declares
from mcpctl.protocol.eras import LEGACY
from mcpctl.protocol.jsonrpc import Message, error
from mcpctl.router.actions import Action, StreamToClient
from mcpctl.router.asks import AskIds, RelayAsk
from mcpctl.router.calls import Call
from mcpctl.router.forward import Forwarder

MAX_ROUNDS = 8  # a backend that keeps asking must not hold a call open forever


@dataclass(slots=True)
class Round:
    """One input_required result being answered: the keys asked, the answers so far, the state."""

    keys: set[str]
    state: Any
    answers: dict[str, Any] = field(default_factory=dict)


def needs_relay(call: Call, result: object) -> bool:
    ctx = call.ctx
    return (
        isinstance(result, dict)
        and result.get("resultType") == "input_required"
        and ctx is not None
        and ctx.era is LEGACY
        and ctx.session is not None
        and call.rounds < MAX_ROUNDS
    )


class Relay:
    """Plans each round: the asks to send, then the retry once every key has its answer."""

    def __init__(self, out: list[Action], forwarder: Forwarder, ids: AskIds) -> None:
        self._out = out
        self._forwarder = forwarder
        self._ids = ids

    def start(self, call: Call, result: dict[str, Any], now: float) -> None:
        """Ask the client for what the backend's input_required result wants."""
        ctx = call.ctx
        assert ctx is not None
        session = ctx.session
        assert session is not None
        requests = result.get("inputRequests")
        requests = requests if isinstance(requests, dict) else {}
        for request in requests.values():
            method = request.get("method") if isinstance(request, dict) else None
            if method not in NEEDS:
                text = f"server {call.server!r} asked for unknown input {method!r}"
                self._fail(call, codes.INTERNAL_ERROR, text)
                return
            params = request.get("params")
            if not declares(ctx.capabilities, method, params if isinstance(params, dict) else {}):
                text = f"server {call.server!r} needs {method}, which this client did not declare"
                self._fail(call, codes.NO_ROUTE, text)
                return
        round_ = Round(set(requests), result.get("requestState"))
        asks: list[Message] = []
        for key, request in requests.items():
            ask_id = self._ids.new(session)
            session.asks[ask_id] = RelayAsk(call, key)
            params = request.get("params")
            params = dict(params) if isinstance(params, dict) else {}
            if request["method"] == "elicitation/create" and params.get("mode") == "url":
                params.setdefault("elicitationId", f"{ask_id}.{key}")  # 2025-11-25 requires one
            asks.append({"jsonrpc": "2.0", "id": ask_id, "method": request["method"], "params": params})
        call.round = round_
        call.rounds += 1
        call.progressed(now)  # the client has the call's idle time to answer
        self._out.extend(StreamToClient(call, ask, False) for ask in asks)
        if not round_.keys:
            self._retry(call, round_, now)  # state only: the backend wants the same call again

    def answered(self, call: Call, key: str, msg: Message, now: float) -> None:
        round_ = call.round
        if round_ is None or call.done or key not in round_.keys:
            return
        err = msg.get("error")
        if err is not None:  # the client refused (or failed) to give the input: so does the call
            code = err.get("code") if isinstance(err, dict) else None
            text = err.get("message") if isinstance(err, dict) else None
            why = f"the client could not provide the input server {call.server!r} asked for: {text}"
            self._fail(call, code if isinstance(code, int) else codes.INTERNAL_ERROR, why)
            return
        res = msg.get("result")
        round_.answers[key] = res if isinstance(res, dict) else {}
        if round_.keys <= set(round_.answers):
            self._retry(call, round_, now)

    def _retry(self, call: Call, round_: Round, now: float) -> None:
        assert call.request is not None
        assert call.link is not None
        params = dict(call.request.get("params") or {})
        params["inputResponses"] = round_.answers
        params.pop("requestState", None)
        if isinstance(round_.state, str):
            params["requestState"] = round_.state
        call.round = None
        call.progressed(now)
        if call.link.closed:
            self._forwarder.unavailable(call, f"server {call.server!r} went away while the client answered")
            return
        self._forwarder.send(call, call.link, {**call.request, "params": params})

    def _fail(self, call: Call, code: int, text: str) -> None:
        call.round = None
        self._forwarder.finish(call, error(call.client_id, code, text))
