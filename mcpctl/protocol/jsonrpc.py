"""JSON-RPC 2.0 messages as plain dicts: parsing, classification and construction."""

from __future__ import annotations

import json
from enum import Enum
from typing import Any, Final

import orjson

from mcpctl.protocol import codes

Message = dict[str, Any]
RequestId = str | int


class Kind(Enum):
    """What a JSON-RPC message is, decided by its members."""

    REQUEST = "request"
    NOTIFICATION = "notification"
    RESPONSE = "response"
    INVALID = "invalid"


# The members as plain names, for the code that runs per message: on Python 3.11 reading an
# attribute of an Enum class (`Kind.REQUEST`) costs ten times what a global does (EnumType's
# __getattr__ sends every such read down CPython's slow path; 3.12 dropped it), and a call through
# the host made some twenty such reads.
REQUEST: Final = Kind.REQUEST
NOTIFICATION: Final = Kind.NOTIFICATION
RESPONSE: Final = Kind.RESPONSE
INVALID: Final = Kind.INVALID


class ParseError(ValueError):
    """The bytes are not a JSON object (or not JSON at all)."""


# Messages nested deeper than this are refused when parsed: every encoder on the way (orjson's
# stops at 255) must be able to write back whatever was accepted, and a walk of the value never
# meets Python's recursion limit. Real MCP payloads (schemas, arguments) stay far below it.
MAX_DEPTH = 200
# orjson reads an integer beyond 64 bits as a float, silently dropping digits: a parsed float that
# large sends the input through the exact stdlib parser instead (a real float that large merely
# costs that slower parse). Walking the parsed value costs nothing for big strings, unlike a scan.
_INT64_EDGE = float(2**63)
# Small messages (nearly all of them) are cleared from their bytes instead, which costs a third of
# the walk: fewer opening brackets than MAX_DEPTH cannot nest deeper, and an integer past 64 bits
# needs a run of 19 digits. On large ones the byte scan costs more than the walk.
_SCAN_BYTES = 16384
# A message's shape in one pass: a digit -> "0", an opening bracket ("{" or "[") -> "{", else " ".
_SHAPE = bytes(0x30 if 0x30 <= i <= 0x39 else 0x7B if i in (0x5B, 0x7B) else 0x20 for i in range(256))
_LONG_NUMBER = b"0" * 19


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON fast with orjson; the stdlib where orjson would lose or refuse something.

    Raises ParseError for what is not JSON, and for JSON nested deeper than MAX_DEPTH.
    """
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        value = _exact_loads(data, exc)
        _walk(value)
        return value
    if type(data) is bytes and len(data) <= _SCAN_BYTES and _plain(data):
        return value
    if _walk(value):
        value = _exact_loads(data, None)
    return value


def _plain(data: bytes) -> bool:
    """True when `data` can neither nest past MAX_DEPTH nor hold an integer past 64 bits."""
    shape = data.translate(_SHAPE)
    # count, not `in`: on bytes, `in` first tries its operand as an integer, and the TypeError it
    # makes and clears costs twice the search (230 ns against 100). A message no longer than
    # MAX_DEPTH cannot hold more opening brackets than that (most answers from a child are that short).
    return not shape.count(_LONG_NUMBER) and (len(data) <= MAX_DEPTH or shape.count(b"{") <= MAX_DEPTH)


def _walk(value: Any) -> bool:
    """Check the nesting depth of a parsed value; True when it holds a float too large to be exact."""
    huge = False
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is not dict and kind is not list:
            continue
        if depth > MAX_DEPTH:
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels")
        for child in item.values() if kind is dict else item:
            child_kind = type(child)
            if child_kind is dict or child_kind is list:
                stack.append((child, depth + 1))
            elif child_kind is float and abs(child) >= _INT64_EDGE:
                huge = True
    return huge


def _exact_loads(data: bytes | bytearray | memoryview | str, orjson_error: Exception | None) -> Any:
    try:
        text = data if isinstance(data, str) else bytes(data).decode()
        return json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nesting too deep
        raise ParseError(str(orjson_error or exc)) from exc


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def dumps(obj: Any) -> bytes:
    """Serialise compactly on one line (no embedded newlines, as stdio framing requires)."""
    try:
        return orjson.dumps(obj)
    except TypeError:
        # Integers over 64 bits: rare, but a proxy must not drop them.
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def parse_message(data: bytes | bytearray | memoryview | str) -> Message:
    """Parse one JSON-RPC message; raises ParseError for non-JSON or non-object input."""
    value = loads(data)
    if type(value) is not dict:  # what orjson returns for an object; anything else is not a message
        raise ParseError("a JSON-RPC message must be a JSON object")
    return value


def kind_of(msg: Message) -> Kind:
    """Classify a message without trusting it: invalid shapes come back as INVALID."""
    method = msg.get("method")
    has_id = "id" in msg
    if type(method) is str or isinstance(method, str):
        if not has_id:
            return NOTIFICATION
        req_id = msg["id"]
        kind = type(req_id)  # is_valid_id's common case inline: every message is classified a few times
        return REQUEST if kind is str or kind is int or is_valid_id(req_id) else INVALID
    if has_id and ("result" in msg or "error" in msg):
        return RESPONSE
    return INVALID


def is_valid_id(value: object) -> bool:
    """MCP ids are strings or integers, never null, never booleans."""
    kind = type(value)  # parsed ids are exactly str or int: tested first, since every message asks
    if kind is str or kind is int:
        return True
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def request(req_id: RequestId, method: str, params: dict[str, Any] | None = None) -> Message:
    msg: Message = {"jsonrpc": "2.0", "id": req_id, "method": method}
    if params is not None:
        msg["params"] = params
    return msg


def notification(method: str, params: dict[str, Any] | None = None) -> Message:
    msg: Message = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        msg["params"] = params
    return msg


def result(req_id: RequestId | None, value: dict[str, Any]) -> Message:
    return {"jsonrpc": "2.0", "id": req_id, "result": value}


def error(req_id: RequestId | None, code: int, message: str, data: Any = None) -> Message:
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": req_id, "error": err}


def params_of(msg: Message) -> dict[str, Any]:
    """The params object, or an empty dict when absent or not an object."""
    params = msg.get("params")
    return params if type(params) is dict or isinstance(params, dict) else {}


def meta_of(msg: Message) -> dict[str, Any]:
    """The params._meta object, or an empty dict."""
    return meta_in(params_of(msg))


def meta_in(params: dict[str, Any]) -> dict[str, Any]:
    """The _meta object of params already taken from a message (`params_of`), or an empty dict."""
    meta = params.get("_meta")
    return meta if type(meta) is dict or isinstance(meta, dict) else {}


def invalid_request_reason(msg: Message) -> str | None:
    """Why a client message is not a valid request/notification/response, or None when it is."""
    if msg.get("jsonrpc") != "2.0":
        return 'the "jsonrpc" member must be exactly "2.0"'
    kind = kind_of(msg)
    if kind is INVALID:
        if "method" in msg and not isinstance(msg.get("method"), str):
            return 'the "method" member must be a string'
        if "id" in msg and not is_valid_id(msg["id"]):
            return 'the "id" member must be a string or an integer (not null)'
        return "not a request, notification or response"
    if "params" in msg and not isinstance(msg["params"], dict):
        return 'the "params" member must be an object'
    return None


__all__ = [
    "INVALID",
    "NOTIFICATION",
    "REQUEST",
    "RESPONSE",
    "Kind",
    "Message",
    "ParseError",
    "RequestId",
    "codes",
    "dumps",
    "error",
    "invalid_request_reason",
    "is_valid_id",
    "kind_of",
    "loads",
    "meta_in",
    "meta_of",
    "notification",
    "params_of",
    "parse_message",
    "request",
    "result",
]
