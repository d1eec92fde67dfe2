"""Modern HTTP headers: standard headers, the base64 sentinel, mismatch detection, Mcp-Param-* checks."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcpctl.protocol.eras import META_PROTOCOL_VERSION
from mcpctl.protocol.headers import (
    HeaderMismatch,
    check_param_headers,
    check_standard_headers,
    decode_value,
    encode_value,
    param_header_paths,
    param_headers,
    standard_headers,
)

MODERN = "2026-07-28"


def call(name: str, arguments: dict[str, Any] | None = None, method: str = "tools/call") -> dict[str, Any]:
    params: dict[str, Any] = {"_meta": {META_PROTOCOL_VERSION: MODERN}}
    params["uri" if method == "resources/read" else "name"] = name
    if arguments is not None:
        params["arguments"] = arguments
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


@pytest.mark.parametrize(
    ("value", "encoded"),
    [  # the table in the 2026-07-28 Streamable HTTP spec, "Value Encoding"
        ("us-west1", "us-west1"),
        ("Hello, 世界", "=?base64?SGVsbG8sIOS4lueVjA==?="),
        (" padded ", "=?base64?IHBhZGRlZCA=?="),
        ("line1\nline2", "=?base64?bGluZTEKbGluZTI=?="),
        ("=?base64?literal?=", "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="),
    ],
)
def test_the_spec_encoding_table(value: str, encoded: str) -> None:
    assert encode_value(value) == encoded
    assert decode_value(encoded) == value


def test_values_that_need_the_sentinel() -> None:
    for value in ("\tlead", "trail\t", "a\rb", "nul\0", "del\x7f", "é"):
        assert encode_value(value).startswith("=?base64?"), repr(value)
    for value in ("internal space", "tab\tinside", "", "=?base64?only-prefix", "only-suffix?="):
        assert encode_value(value) == value, repr(value)


@given(st.text(max_size=60))
def test_encoding_round_trips(value: str) -> None:
    assert decode_value(encode_value(value)) == value


def test_decoding_trims_optional_whitespace_and_refuses_malformed_values() -> None:
    assert decode_value("  tools/call\t") == "tools/call"
    assert decode_value(" =?base64?SGVsbG8=?= ") == "Hello"
    assert decode_value("SGVsbG8=") == "SGVsbG8="  # no sentinel: a literal
    for bad in ("=?base64?SGVsbG8?=", "=?base64?SGVs!!!bG8=?=", "=?base64?/w==?=", "caf\u00e9", "a\x01b"):
        with pytest.raises(HeaderMismatch):
            decode_value(bad)


def test_standard_headers_mirror_the_body() -> None:
    assert standard_headers(call("echo")) == {
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": "tools/call",
        "Mcp-Name": "echo",
    }
    assert standard_headers(call("file:///ü.txt", method="resources/read"))["Mcp-Name"].startswith(
        "=?base64?"
    )
    listing = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/list",
        "params": {"_meta": {META_PROTOCOL_VERSION: MODERN}},
    }
    assert "Mcp-Name" not in standard_headers(listing)
    legacy = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    assert standard_headers(legacy) == {"Mcp-Method": "tools/list"}


@pytest.mark.parametrize(
    "msg", [call("echo"), call("Hello, 世界"), call("test://x y", method="resources/read")]
)
def test_what_a_client_sends_passes_the_check(msg: dict[str, Any]) -> None:
    check_standard_headers(lower(standard_headers(msg)), msg)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"mcp-method": "prompts/list"}, "Mcp-Method"),
        ({"mcp-method": "TOOLS/CALL"}, "Mcp-Method"),  # values are case-sensitive
        ({"mcp-name": "wrong_tool"}, "Mcp-Name"),
        ({"mcp-protocol-version": "2025-11-25"}, "MCP-Protocol-Version"),
        ({"mcp-name": "=?base64?SGVsbG8?="}, "base64"),
    ],
)
def test_mismatches_are_detected(change: dict[str, str], complaint: str) -> None:
    msg = call("echo")
    headers = {**lower(standard_headers(msg)), **change}
    with pytest.raises(HeaderMismatch, match=complaint):
        check_standard_headers(headers, msg)


def test_missing_standard_headers_are_mismatches() -> None:
    msg = call("echo")
    for key in ("mcp-method", "mcp-name", "mcp-protocol-version"):
        headers = lower(standard_headers(msg))
        del headers[key]
        with pytest.raises(HeaderMismatch, match="missing"):
            check_standard_headers(headers, msg)


def test_a_header_is_required_even_where_the_body_lacks_its_field() -> None:
    no_version = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    with pytest.raises(HeaderMismatch, match="MCP-Protocol-Version is missing"):
        check_standard_headers({"mcp-method": "tools/list"}, no_version)
    no_method = {"jsonrpc": "2.0", "id": 1, "params": {"_meta": {META_PROTOCOL_VERSION: MODERN}}}
    with pytest.raises(HeaderMismatch, match="Mcp-Method is missing"):
        check_standard_headers({"mcp-protocol-version": MODERN}, no_method)


def test_optional_whitespace_around_header_values_is_accepted() -> None:
    msg = call("echo")
    check_standard_headers(
        {"mcp-protocol-version": f" {MODERN} ", "mcp-method": "\ttools/call", "mcp-name": "  echo  "}, msg
    )


SCHEMA = {
    "type": "object",
    "properties": {
        "region": {"type": "string", "x-mcp-header": "Region"},
        "priority": {"type": "integer", "x-mcp-header": "Priority"},
        "verbose": {"type": "boolean", "x-mcp-header": "Verbose"},
        "target": {"type": "object", "properties": {"zone": {"type": "string", "x-mcp-header": "Zone"}}},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"hidden": {"type": "string", "x-mcp-header": "Hidden"}},
            },
        },
        "query": {"type": "string"},
    },
}


def test_header_paths_follow_properties_only() -> None:
    assert param_header_paths(SCHEMA) == {
        "region": ("region",),
        "priority": ("priority",),
        "verbose": ("verbose",),
        "zone": ("target", "zone"),
    }
    assert param_header_paths({"type": "object"}) == {}
    assert param_header_paths(None) == {}


def test_param_headers_for_a_call() -> None:
    arguments = {
        "region": "us-west1",
        "priority": 42,
        "verbose": False,
        "target": {"zone": "b"},
        "query": "q",
    }
    assert param_headers(SCHEMA, arguments) == {
        "Mcp-Param-region": "us-west1",
        "Mcp-Param-priority": "42",
        "Mcp-Param-verbose": "false",
        "Mcp-Param-zone": "b",
    }
    # Absent or null values: no header at all.
    assert param_headers(SCHEMA, {"region": None, "target": {}}) == {}
    assert param_headers(SCHEMA, {"region": "東京"}) == {"Mcp-Param-region": encode_value("東京")}


def check(arguments: dict[str, Any], headers: dict[str, str]) -> None:
    check_param_headers({f"mcp-param-{k.lower()}": v for k, v in headers.items()}, SCHEMA, arguments)


def test_param_checks_accept_what_clients_send() -> None:
    arguments = {"region": " padded ", "priority": 7, "verbose": True, "target": {"zone": "z"}}
    check(arguments, {k.removeprefix("Mcp-Param-"): v for k, v in param_headers(SCHEMA, arguments).items()})
    check({}, {})  # absent values: the server must not expect headers
    check({"region": None, "target": None}, {})


def test_integers_compare_numerically_and_exactly() -> None:
    check({"priority": 42}, {"priority": "42.0"})
    check({"priority": 42}, {"priority": " 42 "})
    with pytest.raises(HeaderMismatch):
        check({"priority": 42}, {"priority": "43"})
    with pytest.raises(HeaderMismatch):  # equal as floats, different as integers
        check({"priority": 12345678901234567890}, {"priority": "12345678901234567891"})
    for wrong in ("forty-two", "NaN", "4_2", encode_value("٤٢"), "0x2a"):
        with pytest.raises(HeaderMismatch):
            check({"priority": 42}, {"priority": wrong})


def test_strings_are_compared_as_strings() -> None:
    """A load balancer routing on "1000" must not reach a tool that runs with "1e3"."""
    with pytest.raises(HeaderMismatch):
        check({"region": "1e3"}, {"region": "1000"})
    with pytest.raises(HeaderMismatch):
        check({"region": "7"}, {"region": "7.0"})


def test_booleans_must_be_lowercase_words() -> None:
    check({"verbose": True}, {"verbose": "true"})
    for wrong in ("True", "1", "yes"):
        with pytest.raises(HeaderMismatch):
            check({"verbose": True}, {"verbose": wrong})


def test_missing_and_malformed_param_headers() -> None:
    with pytest.raises(HeaderMismatch, match="Mcp-Param-region is missing"):
        check({"region": "eu"}, {})
    with pytest.raises(HeaderMismatch, match="missing"):
        check({"target": {"zone": "a"}}, {})
    with pytest.raises(HeaderMismatch):
        check({"region": "Hello"}, {"region": "=?base64?SGVsbG8?="})  # bad padding
    check({"region": "Hello"}, {"region": "=?base64?SGVsbG8=?="})


def test_header_paths_are_remembered_per_schema_object_within_a_bound() -> None:
    from mcpctl.protocol import headers

    first = {"properties": {"a": {"type": "string", "x-mcp-header": "A"}}}
    assert param_header_paths(first) == {"a": ("a",)}
    param_header_paths(first)["b"] = ("b",)  # a caller's copy: the remembered answer stays
    assert param_header_paths(first) == {"a": ("a",)}
    renamed = {"properties": {"b": {"type": "string", "x-mcp-header": "B"}}}  # the tool changed
    assert param_header_paths(renamed) == {"b": ("b",)}
    schemas = [{"properties": {}} for _ in range(3 * headers._SCHEMA_PATHS_LIMIT)]
    for schema in schemas:
        assert param_header_paths(schema) == {}
    assert len(headers._SCHEMA_PATHS) <= headers._SCHEMA_PATHS_LIMIT
