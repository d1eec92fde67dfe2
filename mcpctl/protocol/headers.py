"""Modern (2026-07-28) HTTP request headers: mirror body fields into headers and check they agree."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from mcpctl.protocol.eras import META_PROTOCOL_VERSION
from mcpctl.protocol.jsonrpc import Message, meta_in, meta_of, params_of

PROTOCOL_VERSION: Final = "mcp-protocol-version"
METHOD: Final = "mcp-method"
NAME: Final = "mcp-name"
SESSION_ID: Final = "mcp-session-id"
PARAM_PREFIX: Final = "mcp-param-"
# Methods whose params.name / params.uri the Mcp-Name header mirrors.
NAMED_METHODS: Final = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
_SENTINEL_HEAD: Final = "=?base64?"
_SENTINEL_TAIL: Final = "?="
_NUMBER: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")  # JSON's number syntax, ASCII only


class HeaderMismatch(ValueError):
    """Headers and body disagree, or a required header is missing or malformed."""


def encode_value(value: str) -> str:
    """A header-safe form of `value`: as-is when plain visible ASCII, else the base64 sentinel."""
    plain = (
        value == value.strip(" \t")
        and all(c in " \t" or 0x21 <= ord(c) <= 0x7E for c in value)
        and not (value.startswith(_SENTINEL_HEAD) and value.endswith(_SENTINEL_TAIL))
    )
    if plain:
        return value
    return _SENTINEL_HEAD + base64.b64encode(value.encode()).decode() + _SENTINEL_TAIL


def decode_value(raw: str) -> str:
    """The value a header carries, decoding the base64 sentinel; raises HeaderMismatch if malformed."""
    value = raw.strip(" \t")  # RFC 9110 5.5: optional whitespace is not part of the value
    if value.startswith(_SENTINEL_HEAD) and value.endswith(_SENTINEL_TAIL):
        encoded = value[len(_SENTINEL_HEAD) : -len(_SENTINEL_TAIL)]
        try:
            return base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise HeaderMismatch(f"header value {value!r} is not valid base64") from exc
    # visible ASCII, spaces and tabs; printable ASCII is 0x20 to 0x7E (checked in C, no per-character loop)
    if not (value.isascii() and value.replace("\t", " ").isprintable()):
        raise HeaderMismatch("header value has characters outside visible ASCII")
    return value


def standard_headers(msg: Message) -> dict[str, str]:
    """The headers a modern client sends with this request (version, method, name)."""
    headers: dict[str, str] = {}
    version = meta_of(msg).get(META_PROTOCOL_VERSION)
    if isinstance(version, str):
        headers["MCP-Protocol-Version"] = version
    method = msg.get("method")
    if isinstance(method, str):
        headers["Mcp-Method"] = method
        field = NAMED_METHODS.get(method)
        value = params_of(msg).get(field) if field else None
        if isinstance(value, str):
            headers["Mcp-Name"] = encode_value(value)
    return headers


def check_standard_headers(headers: Mapping[str, str], msg: Message) -> None:
    """Raise HeaderMismatch unless the standard headers mirror the body (keys are lower-case)."""
    method = msg.get("method")
    params = params_of(msg)
    version = meta_in(params).get(META_PROTOCOL_VERSION)
    # A header equal to the body passes without `_expect` (this runs per request): the HTTP parser
    # has already stripped the whitespace around a value, which is all `_expect` would strip.
    if version is None or headers.get(PROTOCOL_VERSION) != version:
        _expect(headers, PROTOCOL_VERSION, version, "MCP-Protocol-Version", "_meta protocolVersion")
    if method is None or headers.get(METHOD) != method:
        _expect(headers, METHOD, method, "Mcp-Method", "method")
    field = NAMED_METHODS.get(method) if isinstance(method, str) else None
    if field is not None:
        _expect(headers, NAME, params.get(field), "Mcp-Name", f"params.{field}", decode=True)


def _expect(
    headers: Mapping[str, str], key: str, body: object, label: str, body_label: str, *, decode: bool = False
) -> None:
    raw = headers.get(key)
    if raw is None:
        raise HeaderMismatch(f"Header mismatch: required header {label} is missing")
    value = decode_value(raw) if decode else raw.strip(" \t")
    if value != body:
        raise HeaderMismatch(
            f"Header mismatch: {label} header value {value!r} does not match body {body_label} {body!r}"
        )


# Schemas already walked, by identity (the schema is held, so its id is not reused): a tool's
# schema is the same object call after call, and walking it for every call cost more than the check.
_SCHEMA_PATHS: dict[int, tuple[object, dict[str, tuple[str, ...]]]] = {}
_SCHEMA_PATHS_LIMIT = 1024  # catalogs change at runtime: the memory stays bounded


def param_header_paths(input_schema: object) -> dict[str, tuple[str, ...]]:
    """`x-mcp-header` annotations in a tool's inputSchema: header name (lower-case) -> property path."""
    return dict(_paths(input_schema))


def _paths(input_schema: object) -> dict[str, tuple[str, ...]]:
    """param_header_paths, remembered per schema object (the caller must not change the answer)."""
    seen = _SCHEMA_PATHS.get(id(input_schema))
    if seen is not None and seen[0] is input_schema:
        return seen[1]
    found = _walk_param_paths(input_schema)
    if len(_SCHEMA_PATHS) >= _SCHEMA_PATHS_LIMIT:
        _SCHEMA_PATHS.clear()
    _SCHEMA_PATHS[id(input_schema)] = (input_schema, found)
    return found


def _walk_param_paths(input_schema: object) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}

    def walk(schema: object, path: tuple[str, ...]) -> None:
        if not isinstance(schema, dict):
            return
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return
        for key, sub in properties.items():
            if isinstance(sub, dict):
                name = sub.get("x-mcp-header")
                if isinstance(name, str) and name:
                    found[name.lower()] = (*path, key)
                walk(sub, (*path, key))

    walk(input_schema, ())
    return found


def param_value_text(value: Any) -> str | None:
    """The header text of a parameter value (string, integer, number, boolean), or None to omit."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return None


def param_headers(input_schema: object, arguments: Mapping[str, Any]) -> dict[str, str]:
    """The Mcp-Param-* headers a client sends for a tools/call with these arguments."""
    headers: dict[str, str] = {}
    for name, path in _paths(input_schema).items():
        text = param_value_text(_lookup(arguments, path))
        if text is not None:
            headers[f"Mcp-Param-{name}"] = encode_value(text)
    return headers


def check_param_headers(headers: Mapping[str, str], input_schema: object, arguments: object) -> None:
    """Raise HeaderMismatch unless every annotated argument is mirrored correctly (keys lower-case)."""
    args = arguments if type(arguments) is dict or isinstance(arguments, Mapping) else {}
    for name, path in _paths(input_schema).items():
        body = _lookup(args, path)
        expected = param_value_text(body)
        raw = headers.get(PARAM_PREFIX + name)
        if expected is None:
            continue
        if raw is None:
            raise HeaderMismatch(f"Header mismatch: required header Mcp-Param-{name} is missing")
        value = decode_value(raw)
        if value != expected and not _numerically_equal(value, body):
            raise HeaderMismatch(
                f"Header mismatch: Mcp-Param-{name} value {value!r} does not match body {expected!r}"
            )


def _lookup(arguments: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = arguments
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def _numerically_equal(header: str, body: object) -> bool:
    """Whether a header equals a numeric body value as a number ("42.0" and 42).

    Only numbers compare this way: a string "1e3" is not "1000". Decimal, not float, so large
    integers that share a float (2**64 and 2**64 + 1) stay different.
    """
    if not isinstance(body, int | float) or isinstance(body, bool) or not _NUMBER.fullmatch(header):
        return False
    try:
        return Decimal(header) == Decimal(str(body))
    except InvalidOperation:  # a body float that is not finite
        return False
