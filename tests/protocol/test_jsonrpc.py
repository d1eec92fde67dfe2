"""JSON-RPC messages: parsing, classification of valid and invalid shapes, ids, big integers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcpctl.protocol.jsonrpc import (
    MAX_DEPTH,
    Kind,
    ParseError,
    dumps,
    error,
    invalid_request_reason,
    is_valid_id,
    kind_of,
    loads,
    meta_of,
    notification,
    params_of,
    parse_message,
    request,
    result,
)

BIG = [2**64, 2**64 + 1, -(2**63) - 1, 10**30, -(10**40)]


@pytest.mark.parametrize("value", BIG)
def test_integers_beyond_64_bits_survive_exactly(value: int) -> None:
    raw = f'{{"jsonrpc":"2.0","id":{value},"result":{{"n":{value}}}}}'.encode()
    msg = parse_message(raw)
    assert msg["id"] == value
    assert isinstance(msg["id"], int)
    assert msg["result"]["n"] == value
    assert loads(dumps(msg)) == msg
    assert str(value).encode() in dumps(msg)


def test_the_64_bit_edges_take_the_fast_path_unchanged() -> None:
    for value in (2**64 - 1, -(2**63), 2**63):
        assert loads(str(value)) == value


def test_big_integers_from_every_input_type() -> None:
    text = f'{{"id": {2**70 + 1}}}'
    for data in (text, text.encode(), bytearray(text.encode()), memoryview(text.encode())):
        assert loads(data) == {"id": 2**70 + 1}, type(data)


def test_long_digit_runs_inside_strings_and_floats_are_unharmed() -> None:
    msg = {"token": "1234567890123456789012345", "pi": 3.14159265358979323846}
    assert loads(json.dumps(msg)) == {"token": "1234567890123456789012345", "pi": 3.141592653589793}


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b"not json",
        b"\xff\xfe{}",
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"id": 18446744073709551616, "x": NaN}',
    ],
)
def test_what_is_not_json_is_a_parse_error(raw: bytes) -> None:
    with pytest.raises(ParseError):
        loads(raw)


def test_nesting_is_refused_one_level_past_the_limit() -> None:
    def nested(levels: int) -> bytes:
        return b'{"v":' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}"

    assert isinstance(loads(nested(MAX_DEPTH))["v"], list)
    with pytest.raises(ParseError, match=f"deeper than {MAX_DEPTH}"):
        loads(nested(MAX_DEPTH + 1))


def test_a_message_must_be_an_object() -> None:
    for raw in (b"[]", b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]', b"1", b'"x"', b"null"):
        with pytest.raises(ParseError):
            parse_message(raw)


@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.text()
        | st.floats(allow_nan=False, allow_infinity=False),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
        max_leaves=20,
    )
)
def test_dumps_is_one_line_and_round_trips(value: Any) -> None:
    data = dumps({"v": value})
    assert b"\n" not in data
    assert b"\r" not in data
    assert loads(data) == {"v": value}


def test_dumps_keeps_line_separators_inside_strings_on_one_line() -> None:
    data = dumps({"text": "a\nb\u2028c", "big": 2**65})
    assert data.count(b"\n") == 0
    assert loads(data) == {"text": "a\nb\u2028c", "big": 2**65}


@pytest.mark.parametrize(
    ("msg", "kind"),
    [
        ({"jsonrpc": "2.0", "id": 1, "method": "ping"}, Kind.REQUEST),
        ({"jsonrpc": "2.0", "id": "a", "method": "ping"}, Kind.REQUEST),
        ({"jsonrpc": "2.0", "id": 2**70, "method": "ping"}, Kind.REQUEST),
        ({"jsonrpc": "2.0", "id": -1, "method": "ping"}, Kind.REQUEST),
        ({"jsonrpc": "2.0", "method": "notifications/initialized"}, Kind.NOTIFICATION),
        ({"jsonrpc": "2.0", "id": 1, "result": {}}, Kind.RESPONSE),
        ({"jsonrpc": "2.0", "id": 1, "error": {"code": -1, "message": "m"}}, Kind.RESPONSE),
        ({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}, Kind.RESPONSE),
        ({"jsonrpc": "2.0", "id": None, "method": "ping"}, Kind.INVALID),
        ({"jsonrpc": "2.0", "id": True, "method": "ping"}, Kind.INVALID),
        ({"jsonrpc": "2.0", "id": 1.5, "method": "ping"}, Kind.INVALID),
        ({"jsonrpc": "2.0", "id": 1.0, "method": "ping"}, Kind.INVALID),
        ({"jsonrpc": "2.0", "id": [1], "method": "ping"}, Kind.INVALID),
        ({"jsonrpc": "2.0", "id": 1, "method": 5}, Kind.INVALID),
        ({"jsonrpc": "2.0", "id": 1}, Kind.INVALID),
        ({"jsonrpc": "2.0", "result": {}}, Kind.INVALID),
        ({}, Kind.INVALID),
    ],
)
def test_classification(msg: dict[str, Any], kind: Kind) -> None:
    assert kind_of(msg) is kind


def test_ids_are_strings_or_integers() -> None:
    assert all(is_valid_id(v) for v in ("", "x", 0, -5, 2**80))
    assert not any(is_valid_id(v) for v in (None, True, False, 1.0, 2.5, [], {}))


@pytest.mark.parametrize(
    ("msg", "reason"),
    [
        ({"id": 1, "method": "ping"}, '"jsonrpc" member must be exactly "2.0"'),
        ({"jsonrpc": "1.0", "id": 1, "method": "ping"}, '"jsonrpc"'),
        ({"jsonrpc": "2.0", "id": 1, "method": 7}, '"method" member must be a string'),
        ({"jsonrpc": "2.0", "id": None, "method": "ping"}, '"id" member must be a string or an integer'),
        ({"jsonrpc": "2.0", "id": False, "method": "ping"}, '"id"'),
        (
            {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": [1, 2]},
            '"params" member must be an object',
        ),
        ({"jsonrpc": "2.0", "method": "n", "params": "x"}, '"params"'),
        ({"jsonrpc": "2.0"}, "not a request, notification or response"),
    ],
)
def test_invalid_request_reasons(msg: dict[str, Any], reason: str) -> None:
    found = invalid_request_reason(msg)
    assert found is not None
    assert reason in found


def test_valid_messages_have_no_reason() -> None:
    for msg in (
        request(1, "ping"),
        notification("n", {"a": 1}),
        result(1, {}),
        error(None, -32700, "Parse error"),
    ):
        assert invalid_request_reason(msg) is None, msg


def test_builders() -> None:
    assert request("r", "tools/list") == {"jsonrpc": "2.0", "id": "r", "method": "tools/list"}
    assert notification("n") == {"jsonrpc": "2.0", "method": "n"}
    assert result(3, {"ok": True}) == {"jsonrpc": "2.0", "id": 3, "result": {"ok": True}}
    assert error(3, -32601, "nope") == {
        "jsonrpc": "2.0",
        "id": 3,
        "error": {"code": -32601, "message": "nope"},
    }
    assert error(3, -1, "m", {"d": 1})["error"]["data"] == {"d": 1}


def test_params_and_meta_tolerate_any_shape() -> None:
    assert params_of({"params": [1]}) == {}
    assert params_of({}) == {}
    assert meta_of({"params": {"_meta": "x"}}) == {}
    assert meta_of({"params": {"_meta": {"k": 1}}}) == {"k": 1}


@pytest.mark.parametrize("padding", [0, 70_000], ids=["small", "past the scan limit"])
def test_big_integers_stay_exact_in_small_and_large_messages(padding: int) -> None:
    for number in (2**63, -(2**63) - 1, 2**64 + 1, 10**30):
        raw = b'{"id":1,"pad":"' + b"x" * padding + b'","n":' + str(number).encode() + b"}"
        assert loads(raw)["n"] == number


def test_digits_and_brackets_inside_strings_change_nothing() -> None:
    text = "1234567890123456789012 " + "{[" * 300
    raw = dumps({"id": 1, "text": text, "n": 7})
    assert loads(raw) == {"id": 1, "text": text, "n": 7}


def test_nesting_past_the_limit_is_refused_in_large_messages_too() -> None:
    raw = b'{"pad":"' + b"x" * 70_000 + b'","v":' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}"
    with pytest.raises(ParseError, match=f"deeper than {MAX_DEPTH}"):
        loads(raw)
