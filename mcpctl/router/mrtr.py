"""A legacy server's questions to a 2026-07-28 client: gathered into input_required, answered on retry.

The server asks as it always did (sampling, elicitation, roots) and waits. The router collects
the questions that come within a short settle window into one `input_required` result whose
`requestState` is sealed: bound to the principal, the method, the name, the arguments, the round
and this instance, and good once. The client's retry (a new request) answers the server, and
the call goes on: to its result, or to another round.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

from mcpctl.protocol import codes
from mcpctl.protocol.capabilities import NEEDS, declares, needed
from mcpctl.protocol.jsonrpc import Message, error, params_of, result
from mcpctl.router.actions import Action, SendToBackend
from mcpctl.router.adapt import response_for_client
from mcpctl.router.calls import Call
from mcpctl.router.context import ClientContext, principal_tag
from mcpctl.router.forward import Forwarder
from mcpctl.router.links import Link
from mcpctl.router.servers import ServerSlot

SETTLE: Final = 0.05  # seconds to wait for more questions before answering input_required
MAX_ROUNDS: Final = 16
KEY_HINT: Final = "dev.mcpctl/inputKey"  # a server may name the key its question goes under
# What a question still open when its round is abandoned gets, by method (as a client that left)
_ABANDONED: Final[dict[str, Message]] = {
    "elicitation/create": {"result": {"action": "cancel"}},
    "sampling/createMessage": {"error": {"code": -1, "message": "the client did not answer"}},
    "roots/list": {"error": {"code": codes.INTERNAL_ERROR, "message": "the client did not answer"}},
}


class Sealer(Protocol):
    """Seals claims into an opaque token and opens it again (ValueError when it was not ours, intact)."""

    def seal(self, claims: dict[str, Any]) -> str: ...

    def open(self, token: object) -> dict[str, Any]: ...

    def sign(self, text: str) -> str: ...

    def signed(self, text: str, mac: str) -> bool: ...


class StateRefused(Exception):
    """A retry's requestState cannot be honoured; `reason` goes into the error's data."""

    def __init__(self, reason: str, text: str, owner: str | None = None) -> None:
        super().__init__(text)
        self.reason = reason
        self.owner = owner  # for owner_unavailable: the instance that holds the call


@dataclass(slots=True)
class Held:
    """One question of the server's, waiting for the client's answer."""

    ask_id: Any  # the server's request id
    method: str
    params: dict[str, Any]


@dataclass(slots=True)
class Exchange:
    """A modern client's call to a legacy server, across the rounds of its input."""

    handle: str
    held: dict[str, Held] = field(default_factory=dict)
    refused: dict[str, Any] = field(default_factory=dict)  # capabilities the server was refused
    phase: Literal["running", "settling", "suspended"] = "running"
    round: int = 0
    nonce: str = ""
    answer: Message | None = None  # the server's answer, if it came between rounds
    used: set[str] = field(default_factory=set)  # keys of the client's current request already answered


def arguments_digest(method: str, params: dict[str, Any] | None) -> str:
    """What a retry must repeat: the arguments (tools, prompts) or the URI (resources)."""
    params = params or {}
    subject = params.get("uri") if method == "resources/read" else params.get("arguments")
    return hashlib.sha256(repr(subject).encode()).hexdigest()[:32]


class InputRounds:
    """Plans each round of a modern client's input for a legacy server."""

    def __init__(
        self,
        out: list[Action],
        calls: Forwarder,
        sealer: Sealer,
        instance: str,
        servers: dict[str, ServerSlot],
    ) -> None:
        self._out = out
        self._servers = servers
        self._calls = calls
        self._sealer = sealer
        self.instance = instance
        self.suspended: dict[str, Call] = {}  # by exchange handle: calls waiting for their client's retry
        calls.input_deadline = self._deadline

    # -- the server asks -------------------------------------------------------------------------

    def asked(self, call: Call, link: Link, msg: Message, now: float) -> None:
        """A question attributed to `call`, whose client speaks 2026-07-28."""
        assert call.ctx is not None
        method, params = msg["method"], params_of(msg)
        exchange = call.exchange or self._begin(call)
        if not declares(call.ctx.capabilities, method, params):
            # as a client without that capability would answer; the client hears of it if the call fails
            exchange.refused.update(needed(method, params))
            refusal = {"code": codes.METHOD_NOT_FOUND, "message": f"Method not found: {method}"}
            self._out.append(SendToBackend(link, {"jsonrpc": "2.0", "id": msg["id"], "error": refusal}))
            return
        key = self._key(exchange, params)
        offered = _offered(call.params, key, method) if key not in exchange.used else None
        if offered is not None:
            # the client's request already holds the answer under this key (as a stateless server
            # that runs again would find it): answered once, without a round
            exchange.used.add(key)
            self._out.append(SendToBackend(link, {"jsonrpc": "2.0", "id": msg["id"], "result": offered}))
            return
        exchange.held[key] = Held(msg["id"], method, params)
        if exchange.phase == "running":
            exchange.phase = "settling"
            call.idle_deadline = now + SETTLE
            self._calls.earliest = min(self._calls.earliest, call.expires)

    def withdrawn(self, call: Call, ask_id: object) -> bool:
        """The server gave up on a question of its own; True when it was one of this call's."""
        exchange = call.exchange
        if exchange is None:
            return False
        for key, held in list(exchange.held.items()):
            if held.ask_id == ask_id:
                del exchange.held[key]
                return True
        return False

    def answered(self, call: Call, msg: Message) -> bool:
        """The server answered a call whose client is between rounds: keep it for the retry."""
        exchange = call.exchange
        if exchange is None or exchange.phase != "suspended":
            return False
        exchange.answer = msg
        return True

    def shaped(self, call: Call, answer: Message) -> Message:
        """The server failed after a question its client could not be asked: say which capability it needs."""
        exchange = call.exchange
        if exchange is None or not exchange.refused:
            return answer
        res = answer.get("result")
        if "error" in answer or (isinstance(res, dict) and res.get("isError") is True):
            data = {"requiredCapabilities": exchange.refused}
            text = f"server {call.server!r} needs a client capability this request did not declare"
            return error(call.client_id, codes.MISSING_CLIENT_CAPABILITY, text, data)
        return answer

    # -- the client's rounds -----------------------------------------------------------------------

    def _deadline(self, call: Call, now: float) -> None:
        exchange = call.exchange
        assert exchange is not None
        if exchange.phase == "settling":
            self._ask_client(call, now)
        else:
            self._abandon(call, "the client did not come back with the input in time")

    def _ask_client(self, call: Call, now: float) -> None:
        """Answer the client's request with input_required; the call waits for the retry."""
        exchange = call.exchange
        assert exchange is not None
        assert call.ctx is not None
        if not exchange.held:  # the questions were withdrawn while settling
            exchange.phase = "running"
            call.progressed(now)
            return
        if exchange.round >= MAX_ROUNDS:
            self._abandon(call, f"still asking after {MAX_ROUNDS} rounds")
            text = f"server {call.server!r} still asked for input after {MAX_ROUNDS} rounds; call cancelled"
            self._calls.end_round(call, error(call.client_id, codes.INTERNAL_ERROR, text), "error")
            return
        ttl = self._servers[call.server].rules.input_ttl
        exchange.round += 1
        exchange.nonce = secrets.token_hex(8)
        exchange.phase = "suspended"
        claims = {
            "i": self.instance,
            "h": exchange.handle,
            "r": exchange.round,
            "n": exchange.nonce,
            "p": principal_tag(call.ctx.principal),
            "m": call.method,
            "t": call.name,
            "a": arguments_digest(call.method, call.params),
            "e": round(now + ttl, 3),  # on this instance's clock: only the holder checks it
        }
        requests = {key: {"method": h.method, "params": h.params} for key, h in exchange.held.items()}
        body = {
            "resultType": "input_required",
            "inputRequests": requests,
            "requestState": self._sealer.seal(claims),
        }
        self.suspended[exchange.handle] = call
        call.idle_deadline = now + ttl
        self._calls.earliest = min(self._calls.earliest, call.expires)
        self._calls.end_round(call, result(call.client_id, body), "input_required")

    def resume(self, ctx: ClientContext, msg: Message, now: float) -> Call:
        """A retry with our requestState: answer the server's questions and rebind the call to it.

        Raises StateRefused when the state cannot be honoured (altered, expired, replayed, another
        principal's, or for another request).
        """
        params = params_of(msg)
        try:
            claims = self._sealer.open(params.get("requestState"))
        except ValueError as exc:
            raise StateRefused("invalid_request_state", f"Invalid or expired requestState: {exc}") from exc
        if claims.get("i") != self.instance:
            owner = str(claims.get("i"))
            text = "the mcpctl instance that holds this call is not available"
            raise StateRefused("owner_unavailable", text, owner)
        call = self.suspended.get(str(claims.get("h")))
        exchange = call.exchange if call is not None else None
        if (
            call is None
            or exchange is None
            or claims.get("n") != exchange.nonce
            or claims.get("r") != exchange.round
        ):
            raise StateRefused(
                "invalid_request_state", "Invalid or expired requestState: already used, or too late"
            )
        if claims.get("e", 0) < now:
            raise StateRefused("invalid_request_state", "Invalid or expired requestState: expired")
        if (
            claims.get("p") != principal_tag(ctx.principal)
            or claims.get("m") != msg["method"]
            or claims.get("a") != arguments_digest(msg["method"], params)
            or claims.get("t") != _name(msg["method"], params)
        ):
            raise StateRefused("request_mismatch", "Invalid requestState: it belongs to another request")
        responses = params.get("inputResponses")
        responses = responses if isinstance(responses, dict) else {}
        answers = {key: responses[key] for key in exchange.held if key in responses}
        for key, answer in answers.items():
            problem = _shape_problem(exchange.held[key].method, answer)
            if problem is not None:
                raise StateRefused("invalid_input_response", f"inputResponses[{key!r}]: {problem}")
        del self.suspended[exchange.handle]  # single use: a concurrent duplicate finds nothing now
        exchange.nonce = ""
        assert call.link is not None
        exchange.used = set(answers)
        for key, answer in answers.items():
            held = exchange.held.pop(key)
            self._out.append(
                SendToBackend(call.link, {"jsonrpc": "2.0", "id": held.ask_id, "result": answer})
            )
        self._rebind(call, ctx, msg, now)
        exchange.phase = "running"
        if exchange.answer is not None:  # shaped for the client only now: it answers the retry's id
            answer, exchange.answer = exchange.answer, None
            self._calls.finish(call, self.shaped(call, response_for_client(call, answer)))
        elif exchange.held:  # questions the retry left unanswered go into the next round at once
            exchange.phase = "settling"
            call.idle_deadline = now
            self._calls.earliest = min(self._calls.earliest, now)
        return call

    def _rebind(self, call: Call, ctx: ClientContext, msg: Message, now: float) -> None:
        """The retry is a new client request: the call answers it, with its progress token."""
        params = params_of(msg)
        meta = params.get("_meta")
        call.ctx = ctx
        call.client_id = msg["id"]
        call.params = params
        call.progress_token = meta.get("progressToken") if isinstance(meta, dict) else None
        call.started = now
        call.progressed(now)

    def _abandon(self, call: Call, reason: str) -> None:
        """Nobody will answer: answer the server's open questions as a departed client would, cancel."""
        exchange = call.exchange
        assert exchange is not None
        link = call.link
        for held in exchange.held.values():
            if link is not None and not link.closed:
                self._out.append(
                    SendToBackend(link, {"jsonrpc": "2.0", "id": held.ask_id, **_ABANDONED[held.method]})
                )
        exchange.held.clear()
        self.suspended.pop(exchange.handle, None)
        self._calls.drop(call, reason)

    # -- helpers ---------------------------------------------------------------------------------

    def _begin(self, call: Call) -> Exchange:
        call.exchange = Exchange(secrets.token_hex(8))
        return call.exchange

    @staticmethod
    def _key(exchange: Exchange, params: dict[str, Any]) -> str:
        meta = params.get("_meta")
        hint = meta.get(KEY_HINT) if isinstance(meta, dict) else None
        if isinstance(hint, str) and hint and hint not in exchange.held:
            return hint
        number = len(exchange.held) + 1
        while f"r{exchange.round + 1}.{number}" in exchange.held:
            number += 1
        return f"r{exchange.round + 1}.{number}"


def _name(method: str, params: dict[str, Any]) -> object:
    return params.get("uri") if method == "resources/read" else params.get("name")


def _offered(params: dict[str, Any] | None, key: str, method: str) -> dict[str, Any] | None:
    """The answer to `key` the client's request already carries, if it has the right shape."""
    responses = (params or {}).get("inputResponses")
    answer = responses.get(key) if isinstance(responses, dict) else None
    return answer if isinstance(answer, dict) and _shape_problem(method, answer) is None else None


def _shape_problem(method: str, answer: object) -> str | None:
    """Why an input response cannot be what `method` asked for (None: it can)."""
    if not isinstance(answer, dict):
        return "must be an object"
    if method == "elicitation/create" and answer.get("action") not in ("accept", "decline", "cancel"):
        return "an elicitation answer needs action accept, decline or cancel"
    if method == "sampling/createMessage" and ("role" not in answer or "content" not in answer):
        return "a sampling answer needs role and content"
    if method == "roots/list" and not isinstance(answer.get("roots"), list):
        return "a roots answer needs a roots list"
    return None


__all__ = ["NEEDS", "InputRounds", "Sealer", "StateRefused"]
