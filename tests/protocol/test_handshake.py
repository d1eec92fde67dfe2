"""Handshake decisions: the era a probe's answer shows, what a DiscoverResult or InitializeResult declares.

The contract (mcpctl/mcpclient/connection.py): `judge_probe` says MODERN or LEGACY, or raises
HandshakeError for a modern server that speaks no version we do; `from_discovery` and
`from_initialize` describe the server, or raise HandshakeError. Nothing else is ever raised.
"""

from __future__ import annotations

from typing import Any

import pytest

from mcpctl.protocol.eras import (
    LATEST_LEGACY,
    LEGACY_VERSIONS,
    META_CLIENT_CAPABILITIES,
    META_CLIENT_INFO,
    META_PROTOCOL_VERSION,
    META_SERVER_INFO,
    MODERN_ERROR_CODES,
    Era,
)
from mcpctl.protocol.handshake import (
    HandshakeError,
    ServerDescription,
    Verdict,
    from_discovery,
    from_initialize,
    initialize_params,
    initialize_refused_as_modern,
    is_discover_result,
    judge_probe,
    probe_request,
)
from mcpctl.protocol.jsonrpc import Message

MODERN = "2026-07-28"
UNSUPPORTED_VERSION = -32022  # one of the modern-only error codes


def answer(result: object) -> Message:
    return {"jsonrpc": "2.0", "id": 1, "result": result}


def failure(code: object, data: object = None, message: str = "no") -> Message:
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": 1, "error": err}


def discover(versions: object = (MODERN,), **more: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"supportedVersions": list(versions) if isinstance(versions, tuple) else versions}
    body.update(more)
    return body


# -- the probe ---------------------------------------------------------------------------------


def test_the_probe_is_a_server_discover_with_the_modern_meta() -> None:
    msg = probe_request(7, {"name": "mcpctl"}, {"sampling": {}})
    assert msg["method"] == "server/discover"
    assert msg["id"] == 7
    meta = msg["params"]["_meta"]
    assert meta[META_PROTOCOL_VERSION] == MODERN
    assert meta[META_CLIENT_INFO] == {"name": "mcpctl"}
    assert meta[META_CLIENT_CAPABILITIES] == {"sampling": {}}


def test_initialize_asks_for_the_latest_legacy_version() -> None:
    params = initialize_params({"name": "mcpctl"}, {"roots": {}})
    assert params == {
        "protocolVersion": LATEST_LEGACY,
        "capabilities": {"roots": {}},
        "clientInfo": {"name": "mcpctl"},
    }


# -- judge_probe: modern -------------------------------------------------------------------------


def test_a_discover_result_naming_2026_07_28_is_modern() -> None:
    assert judge_probe(answer(discover())) is Verdict.MODERN


def test_a_discover_result_is_modern_even_with_other_versions_alongside() -> None:
    assert judge_probe(answer(discover(("2027-01-01", MODERN, LATEST_LEGACY)))) is Verdict.MODERN


@pytest.mark.parametrize("code", sorted(MODERN_ERROR_CODES))
def test_a_modern_error_naming_a_version_we_speak_is_modern(code: int) -> None:
    data = {"supported": ["2027-01-01", MODERN]}
    assert judge_probe(failure(code, data)) is Verdict.MODERN


# -- judge_probe: legacy -------------------------------------------------------------------------


def test_no_answer_in_time_is_legacy() -> None:
    assert judge_probe(None) is Verdict.LEGACY


@pytest.mark.parametrize("code", [-32601, -32600, -32602, -32603, -32700, -32000, 0, 1, "-32020", None, 3.5])
def test_an_error_that_is_not_a_modern_one_is_legacy(code: object) -> None:
    # method not found is what a 2025-era server says to server/discover; even with a `supported` list
    assert judge_probe(failure(code, {"supported": [MODERN]})) is Verdict.LEGACY


def test_method_not_found_is_legacy() -> None:
    assert judge_probe(failure(-32601)) is Verdict.LEGACY


@pytest.mark.parametrize(
    "result",
    [
        {},
        {"protocolVersion": LATEST_LEGACY, "capabilities": {}},  # a lenient server answered as if initialize
        {"supportedVersions": MODERN},  # a string, not a list
        {"supportedVersions": None},
        {"supportedVersions": {"0": MODERN}},
        [MODERN],
        MODERN,
        None,
        42,
    ],
)
def test_an_answer_that_is_not_a_discover_result_is_legacy(result: object) -> None:
    assert judge_probe(answer(result)) is Verdict.LEGACY


@pytest.mark.parametrize(
    "msg",
    [
        {},
        {"jsonrpc": "2.0", "id": 1},
        {"jsonrpc": "2.0", "id": 1, "error": "boom"},
        {"jsonrpc": "2.0", "id": 1, "error": None, "result": None},
        {"jsonrpc": "2.0", "id": 1, "error": ["x"]},
    ],
)
def test_a_malformed_answer_is_legacy_not_an_exception(msg: Message) -> None:
    assert judge_probe(msg) is Verdict.LEGACY


def test_an_error_object_wins_over_a_result_in_the_same_answer() -> None:
    msg = {"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "no"}, "result": discover()}
    assert judge_probe(msg) is Verdict.LEGACY


# -- judge_probe: a modern server we cannot speak to ---------------------------------------------


@pytest.mark.parametrize("code", sorted(MODERN_ERROR_CODES))
def test_a_modern_error_naming_only_versions_we_do_not_speak_is_a_handshake_error(code: int) -> None:
    with pytest.raises(HandshakeError, match="2027-01-01"):
        judge_probe(failure(code, {"supported": ["2027-01-01"]}))


@pytest.mark.parametrize(
    "data", [None, {}, {"supported": []}, {"supported": MODERN}, {"supported": None}, ["2026-07-28"], "x"]
)
def test_a_modern_error_without_a_usable_version_list_is_a_handshake_error(data: object) -> None:
    with pytest.raises(HandshakeError, match="none of which mcpctl supports"):
        judge_probe(failure(UNSUPPORTED_VERSION, data))


def test_a_modern_error_listing_only_legacy_versions_is_a_handshake_error() -> None:
    # a modern error means the server is modern; legacy versions in it are not a way in
    with pytest.raises(HandshakeError):
        judge_probe(failure(UNSUPPORTED_VERSION, {"supported": list(LEGACY_VERSIONS)}))


@pytest.mark.parametrize("entries", [[{"v": MODERN}], [None, 3], [[MODERN]]])
def test_odd_entries_in_a_supported_list_are_not_versions(entries: list[object]) -> None:
    with pytest.raises(HandshakeError):
        judge_probe(failure(UNSUPPORTED_VERSION, {"supported": entries}))


def test_a_handshake_error_is_a_value_error() -> None:
    assert issubclass(HandshakeError, ValueError)


# -- is_discover_result --------------------------------------------------------------------------


def test_is_discover_result() -> None:
    assert is_discover_result(answer(discover()))
    assert is_discover_result(answer(discover(("2027-01-01",))))  # the shape, not the versions
    assert not is_discover_result(None)
    assert not is_discover_result(answer({"protocolVersion": LATEST_LEGACY}))
    assert not is_discover_result(failure(-32601))
    assert not is_discover_result(answer("x"))


# -- from_discovery ------------------------------------------------------------------------------


def test_a_discover_result_describes_a_modern_server() -> None:
    result = discover(
        ("2027-01-01", MODERN),
        capabilities={"tools": {"listChanged": True}},
        instructions="be nice",
        _meta={META_SERVER_INFO: {"name": "srv", "version": "1"}},
    )
    description = from_discovery(result)
    assert description == ServerDescription(
        era=Era.MODERN,
        protocol_version=MODERN,
        capabilities={"tools": {"listChanged": True}},
        server_info={"name": "srv", "version": "1"},
        instructions="be nice",
    )


def test_server_info_falls_back_to_the_plain_field() -> None:
    assert from_discovery(discover(serverInfo={"name": "plain"})).server_info == {"name": "plain"}
    meta = {META_SERVER_INFO: {"name": "meta"}}
    assert from_discovery(discover(serverInfo={"name": "plain"}, _meta=meta)).server_info == {"name": "meta"}


def test_missing_or_malformed_optional_fields_are_empty() -> None:
    description = from_discovery(
        discover(capabilities=["tools"], instructions=42, serverInfo="srv", _meta="meta")
    )
    assert description.era is Era.MODERN
    assert description.protocol_version == MODERN
    assert description.capabilities == {}
    assert description.server_info == {}
    assert description.instructions is None
    bare = from_discovery(discover())
    assert (bare.capabilities, bare.server_info, bare.instructions) == ({}, {}, None)


@pytest.mark.parametrize(
    "result",
    [
        {},
        discover(()),
        discover(("2027-01-01",)),
        discover(tuple(LEGACY_VERSIONS)),  # a discover result is modern: legacy versions do not count
        discover(MODERN),  # a string: "2026-07-28" in "2026-07-28" must not count
        discover(None),
        discover({MODERN: True}),
        discover([{"v": MODERN}]),
    ],
)
def test_a_discover_result_without_a_version_we_speak_is_a_handshake_error(result: dict[str, Any]) -> None:
    with pytest.raises(HandshakeError, match="none of which mcpctl speaks"):
        from_discovery(result)


# -- from_initialize -----------------------------------------------------------------------------


@pytest.mark.parametrize("version", LEGACY_VERSIONS)
def test_an_initialize_result_describes_a_legacy_server(version: str) -> None:
    result = {
        "protocolVersion": version,
        "capabilities": {"prompts": {}},
        "serverInfo": {"name": "old"},
        "instructions": "hi",
    }
    assert from_initialize(result) == ServerDescription(
        era=Era.LEGACY,
        protocol_version=version,
        capabilities={"prompts": {}},
        server_info={"name": "old"},
        instructions="hi",
    )


def test_an_initialize_result_with_malformed_optional_fields() -> None:
    description = from_initialize(
        {"protocolVersion": LATEST_LEGACY, "capabilities": None, "serverInfo": [1], "instructions": {}}
    )
    assert (description.capabilities, description.server_info, description.instructions) == ({}, {}, None)


@pytest.mark.parametrize("version", [MODERN, "2027-01-01", "", None, 20251125, [LATEST_LEGACY], {"v": 1}])
def test_an_initialize_result_with_a_version_we_do_not_speak_is_a_handshake_error(version: object) -> None:
    with pytest.raises(HandshakeError, match="does not speak"):
        from_initialize({"protocolVersion": version, "capabilities": {}})


def test_an_initialize_result_without_a_version_is_a_handshake_error() -> None:
    with pytest.raises(HandshakeError):
        from_initialize({"capabilities": {}, "serverInfo": {"name": "x"}})


# -- initialize refused by a modern-only server --------------------------------------------------


def test_initialize_refused_with_a_modern_error_means_a_modern_server() -> None:
    for code in MODERN_ERROR_CODES:
        assert initialize_refused_as_modern({"code": code})
    for other in (-32601, -32600, -32603, None, "-32022"):
        assert not initialize_refused_as_modern({"code": other})
    assert not initialize_refused_as_modern({})


def test_a_discover_result_with_only_unknown_versions_is_modern_then_refused() -> None:
    # the shape says modern (so no initialize is tried); describing it is what fails, in our own error
    result = discover(("2027-01-01",))
    assert judge_probe(answer(result)) is Verdict.MODERN
    with pytest.raises(HandshakeError):
        from_discovery(result)
