"""Pure pieces of the demo toolkit: requestState sealing, templates, argument checks, _meta checks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mcpctl.demo import McpError, Server, ToolError, argument_problems, object_schema
from mcpctl.demo.__main__ import MAX_NOTES, Notebook, local_time
from mcpctl.demo.modern import check_meta, stamp_result
from mcpctl.demo.registry import Registry, ResourceTemplate
from mcpctl.demo.state import StateSealer
from mcpctl.demo.wire import Request

MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def call(name: str, arguments: dict[str, Any]) -> Request:
    return Request(1, "tools/call", {"name": name, "arguments": arguments})


def test_request_state_round_trip_and_binding() -> None:
    sealer = StateSealer(b"key", clock=Clock(1000.0))
    state = sealer.seal(call("t", {"x": 1}), {"sampling": {"content": "hi"}})
    assert sealer.open(call("t", {"x": 1}), state) == {"sampling": {"content": "hi"}}
    with pytest.raises(McpError, match="different request"):
        sealer.open(call("t", {"x": 2}), state)
    with pytest.raises(McpError, match="integrity"):
        StateSealer(b"other key").open(call("t", {"x": 1}), state)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: s + "x",
        lambda s: "A" + s,
        lambda s: s.replace(".", ""),
        lambda s: "",
        lambda s: s[:-1] + "é",
        lambda s: "." + s.split(".")[1],
    ],
)
def test_tampered_request_state_is_refused_with_invalid_params(tamper: Any) -> None:
    sealer = StateSealer(b"key")
    state = sealer.seal(call("t", {}), {})
    with pytest.raises(McpError) as caught:
        sealer.open(call("t", {}), tamper(state))
    assert caught.value.code == -32602


def test_request_state_expires() -> None:
    clock = Clock(1000.0)
    sealer = StateSealer(b"key", ttl=60, clock=clock)
    state = sealer.seal(call("t", {}), {})
    clock.now += 59
    assert sealer.open(call("t", {}), state) == {}
    clock.now += 2
    with pytest.raises(McpError, match="expired"):
        sealer.open(call("t", {}), state)


def test_template_variables_match_one_segment() -> None:
    template = ResourceTemplate("demo://notes/{id}", "note", "", "text/plain", handler=None)  # type: ignore[arg-type]
    assert template.match("demo://notes/7") == {"id": "7"}
    assert template.match("demo://notes/") is None
    assert template.match("demo://notes/7/x") is None
    assert template.match("demo://notesX7") is None


def test_argument_problems_check_required_types_and_extras() -> None:
    schema = object_schema({"a": "number", "flag": "boolean"})
    assert argument_problems(schema, {"a": 1.5, "flag": False}) == []
    assert argument_problems(schema, {"a": True, "flag": 1}) == [
        "argument 'a' must be of type number",  # a boolean is not a number in JSON Schema
        "argument 'flag' must be of type boolean",
    ]
    assert argument_problems(schema, {}) == [
        "missing required argument 'a'",
        "missing required argument 'flag'",
    ]
    closed = {**object_schema({"a": "integer"}), "additionalProperties": False}
    assert argument_problems(closed, {"a": 1, "b": 2}) == ["unexpected argument 'b'"]


def test_capabilities_follow_registrations_and_changes_notify() -> None:
    changed: list[str] = []

    class Recording(Registry):
        def notify_list_changed(self, kind: str) -> None:
            changed.append(kind)

    registry = Recording()
    assert registry.capabilities() == {"logging": {}}

    @registry.tool("t", "a tool")
    async def tool(ctx: Any, args: Any) -> str:
        return ""

    assert changed == []  # registering before serving is not a change
    assert registry.remove_tool("t")
    assert not registry.remove_tool("t")
    assert changed == ["tools"]


def test_modern_meta_checks_and_codes() -> None:
    server = Server("s")
    check_meta(Request(1, "tools/list", {"_meta": MODERN_META}), "dual", server.supported_versions)
    cases = [
        ({}, -32602),
        ({"_meta": {**MODERN_META, "io.modelcontextprotocol/clientCapabilities": None}}, -32602),
        ({"_meta": {**MODERN_META, "io.modelcontextprotocol/protocolVersion": "2025-11-25"}}, -32022),
        ({"_meta": {**MODERN_META, "io.modelcontextprotocol/logLevel": "loud"}}, -32602),
    ]
    for params, code in cases:
        with pytest.raises(McpError) as caught:
            check_meta(Request(1, "tools/list", params), "dual", server.supported_versions)
        assert caught.value.code == code, params
    with pytest.raises(McpError) as caught:
        check_meta(Request(1, "initialize", {"protocolVersion": "2025-11-25"}), "modern", ["2026-07-28"])
    assert caught.value.data == {"supported": ["2026-07-28"], "requested": "2025-11-25"}


def test_stamping_copies_and_adds_cache_hints_only_where_due() -> None:
    shared = {"tools": []}
    listed = stamp_result("tools/list", shared, {"name": "s"}, 5)
    assert listed["ttlMs"] == 5
    assert listed["cacheScope"] == "public"
    assert listed["resultType"] == "complete"
    assert shared == {"tools": []}  # legacy requests must still see the handler's dict unstamped
    called = stamp_result("tools/call", {"content": []}, {"name": "s"}, 5)
    assert "ttlMs" not in called
    waiting = stamp_result("tools/call", {"resultType": "input_required"}, {"name": "s"}, 5)
    assert waiting["resultType"] == "input_required"


def test_notebook_bounds_and_clock() -> None:
    notebook = Notebook(lambda: datetime(2026, 1, 15, 12, 0, tzinfo=UTC))
    first = notebook.add("one")
    assert first.to_json() == {"id": 1, "text": "one", "created": "2026-01-15T12:00:00+00:00"}
    for index in range(MAX_NOTES - 1):
        notebook.add(str(index))
    with pytest.raises(ToolError, match="full"):
        notebook.add("one too many")


def test_local_time_in_zones() -> None:
    def noon() -> datetime:
        return datetime(2026, 1, 15, 12, 0, tzinfo=UTC)

    assert local_time("Europe/Paris", noon).isoformat() == "2026-01-15T13:00:00+01:00"
    assert local_time("utc", noon).isoformat() == "2026-01-15T12:00:00+00:00"
    for bad in ("Mars/Base", "../etc/passwd", ""):
        with pytest.raises(ToolError, match="IANA"):
            local_time(bad, noon)
