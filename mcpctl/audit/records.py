"""Builds audit records (redacted, size-capped dicts) from finished calls, refusals and part events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from mcpctl.audit.redact import Redactor
from mcpctl.audit.schema import VERSION
from mcpctl.protocol import codes
from mcpctl.router.context import ClientContext, Principal

if TYPE_CHECKING:
    from mcpctl.protocol.jsonrpc import Message
    from mcpctl.router.calls import Call
    from mcpctl.router.hooks import Refusal

# What an `admit` refusal (or an unknown name) means, by its JSON-RPC error code.
REFUSAL_OUTCOMES: Final = {
    codes.FORBIDDEN: "denied",
    codes.RATE_LIMITED: "rate_limited",
    codes.CIRCUIT_OPEN: "breaker_open",
    codes.INVALID_PARAMS: "not_found",
    codes.BACKEND_UNAVAILABLE: "unavailable",
}
# The outcome of an event a part records, unless it says otherwise.
EVENT_OUTCOMES: Final = {
    "auth.success": "ok",
    "auth.failure": "unauthenticated",
    "auth.denied": "denied",
    "limit.refused": "rate_limited",
    "breaker.refused": "breaker_open",
}
# Fields the writer owns: a part's fields of the same name are kept under "data_<name>".
RESERVED: Final = frozenset({"v", "seq", "ts", "kind", "prev", "hash"})
ERROR_TEXT_CHARS: Final = 500
# A call's record, with its fields in their order, for `Shaper.call` to copy and fill in: that costs
# half what a display of its two dozen keys does (a copy takes the key table whole; a display
# inserts the keys one by one).
_CALL_RECORD: Final[dict[str, Any]] = {
    **dict.fromkeys(
        (
            "v",
            "seq",
            "ts",
            "kind",
            "outcome",
            "principal",
            "principal_kind",
            "client",
            "user_agent",
            "request_id",
            "session",
            "era",
            "protocol_version",
            "server",
            "tool",
            "rpc_id",
            "arguments",
            "http_status",
            "rpc_error",
            "is_error",
            "error",
            "duration_ms",
            "output",
        )
    ),
    "v": VERSION,
    "seq": 0,
}


class Shaper:
    """Turns what happened into the record to write; runs on the event loop, with bounded cost."""

    def __init__(
        self, redactor: Redactor, *, output_budget: int, arguments_budget: int, event_budget: int = 4096
    ) -> None:
        self.redactor = redactor
        self._output_budget = output_budget
        self._arguments_budget = arguments_budget
        self._event_budget = event_budget

    def call(  # noqa: PLR0915 (one function on purpose: see below)
        self, call: Call, response: Message, outcome: str, when: float, now: float
    ) -> dict[str, Any]:
        """A call that reached the gateway's forwarding path and ended (`CallHooks.finished`).

        Runs once per call on the event loop, so it is written for speed: a copy of a template
        filled in, no helpers on the common path (the audit trail's whole budget is a few
        microseconds a call).
        """
        ctx = call.ctx
        method = call.method
        error = response.get("error")
        result = response.get("result")
        copy = self.redactor.copy
        args: Any = None
        cut_args = False
        params = call.params
        if params:
            raw = params.get("argument" if method == "completion/complete" else "arguments")
            if raw is not None:
                args, cut_args = copy(raw, self._arguments_budget)
        rpc_error = is_error = text = output = None
        cut_output = False
        if type(error) is dict:
            rpc_error, _ = copy(error, ERROR_TEXT_CHARS)
            message = rpc_error.get("message")
            text = message if type(message) is str else None
            if outcome == "unavailable" and error.get("code") == codes.CIRCUIT_OPEN:
                outcome = "breaker_open"
        elif method == "tools/call":
            is_error = type(result) is dict and result.get("isError") is True
            if is_error:
                text = _first_text(self.redactor, result)
        if type(result) is dict:  # its _meta is protocol metadata, not the output
            output, cut_output = copy(result, self._output_budget, skip="_meta")
        if ctx is not None:
            session = ctx.session
            principal = ctx.principal
            record = _CALL_RECORD.copy()
            record["ts"] = when
            record["kind"] = method
            record["outcome"] = outcome
            record["principal"] = principal.name
            record["principal_kind"] = principal.kind
            record["client"] = ctx.remote or None
            record["user_agent"] = ctx.user_agent or None
            record["request_id"] = ctx.request_id or None
            if session is not None:
                record["session"] = session.id
            record["era"] = ctx.era._value_  # not .value (a property), nor a dict by member (__hash__)
            record["protocol_version"] = ctx.protocol_version
            record["server"] = call.server or None
            record["tool"] = call.name
            record["rpc_id"] = call.client_id
            record["arguments"] = args
            if outcome != "cancelled":
                record["http_status"] = _http_status(ctx)
            record["rpc_error"] = rpc_error
            record["is_error"] = is_error
            record["error"] = text
            record["duration_ms"] = int((now - call.started) * 1_000_000) / 1000
            record["output"] = output
        else:
            record = self._head(method, when, None, outcome)
            record.update(
                server=call.server or None,
                tool=call.name,
                rpc_id=call.client_id,
                arguments=args,
                http_status=None if outcome == "cancelled" else 200,
                rpc_error=rpc_error,
                is_error=is_error,
                error=text,
                duration_ms=round((now - call.started) * 1000, 3),
                output=output,
            )
        if cut_args or cut_output:
            record["truncated"] = True
        return record

    def refusal(self, refusal: Refusal, when: float) -> dict[str, Any]:
        """A call answered without reaching a backend: unknown name, policy, rate limit, breaker."""
        code = refusal.error.get("code")
        outcome = REFUSAL_OUTCOMES.get(code, "refused") if isinstance(code, int) else "refused"
        record = self._head(refusal.method, when, refusal.ctx, outcome)
        record["server"] = refusal.server or None
        record["tool"] = refusal.name
        record["rpc_id"] = None
        self._arguments(record, refusal.method, refusal.params)
        record["http_status"] = _http_status(refusal.ctx)
        self._error(record, refusal.error)
        record["duration_ms"] = None
        record["output"] = None
        return record

    def event(self, kind: str, fields: dict[str, Any], when: float) -> dict[str, Any]:
        """Something a part records through `host.audit.record(kind, **fields)`."""
        ctx = fields.pop("ctx", None)
        outcome = fields.pop("outcome", None) or EVENT_OUTCOMES.get(kind)
        record = self._head(kind, when, ctx if isinstance(ctx, ClientContext) else None, outcome)
        principal = fields.pop("principal", None)
        if isinstance(principal, Principal):
            record["principal"], record["principal_kind"] = principal.name, principal.kind
        elif principal is not None:
            record["principal"] = str(principal)
        error = fields.get("error")
        if isinstance(error, dict):  # a JSON-RPC error object: kept whole, and its message as `error`
            fields["rpc_error"] = error
            fields["error"] = error.get("message")
        data = {(f"data_{k}" if k in RESERVED else k): v for k, v in fields.items()}
        cleaned, cut = self.redactor.copy(data, self._event_budget)
        record.update(cleaned)
        if cut:
            record["truncated"] = True
        return record

    @staticmethod
    def own(kind: str, fields: dict[str, Any], when: float) -> dict[str, Any]:
        """A record the audit trail writes about itself (drops, pruning, recovery)."""
        return {"v": VERSION, "seq": 0, "ts": when, "kind": kind, **fields}

    def _head(self, kind: str, when: float, ctx: ClientContext | None, outcome: str | None) -> dict[str, Any]:
        record: dict[str, Any] = {"v": VERSION, "seq": 0, "ts": when, "kind": kind, "outcome": outcome}
        if ctx is None:
            return record
        record["principal"] = ctx.principal.name
        record["principal_kind"] = ctx.principal.kind
        record["client"] = ctx.remote or None
        record["user_agent"] = ctx.user_agent or None
        record["request_id"] = ctx.request_id or None
        record["session"] = ctx.session.id if ctx.session is not None else None
        record["era"] = ctx.era._value_
        record["protocol_version"] = ctx.protocol_version
        return record

    def _arguments(self, record: dict[str, Any], method: str, params: dict[str, Any] | None) -> None:
        if not params:
            record["arguments"] = None
            return
        args = params.get("argument" if method == "completion/complete" else "arguments")
        if args is None:
            record["arguments"] = None
            return
        cleaned, cut = self.redactor.copy(args, self._arguments_budget)
        record["arguments"] = cleaned
        if cut:
            record["truncated"] = True

    def _error(self, record: dict[str, Any], error: dict[str, Any]) -> None:
        cleaned, _ = self.redactor.copy(error, ERROR_TEXT_CHARS)
        record["rpc_error"] = cleaned
        record["is_error"] = None
        message = cleaned.get("message")
        record["error"] = message if isinstance(message, str) else None


def _http_status(ctx: ClientContext | None) -> int:
    # MCP errors travel inside a 200 (Streamable HTTP) or as an event after the 202 that
    # accepted the POST (the 2024-11-05 HTTP+SSE transport).
    session = ctx.session if ctx is not None else None
    return 202 if session is not None and session.transport == "sse" else 200


def _first_text(redactor: Redactor, result: Any) -> str | None:
    content = result.get("content") if isinstance(result, dict) else None
    if isinstance(content, list):
        for item in content:
            if isinstance(item, dict) and item.get("type") == "text" and isinstance(item.get("text"), str):
                return redactor.text(item["text"], ERROR_TEXT_CHARS)
    return None
