"""`python -m mcpctl.demo` over stdio: the demo's tools, resources and prompt in both eras."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.demo.stdio_peer import StdioPeer

MODERN = "2026-07-28"
DEMO = [sys.executable, "-m", "mcpctl.demo"]
READ_ONLY_TOOLS = {"echo", "add", "now", "note_list", "countdown"}


def modern(params: dict[str, Any] | None = None, **extra_meta: Any) -> dict[str, Any]:
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
        **extra_meta,
    }
    return {**(params or {}), "_meta": meta}


def text_of(result: dict[str, Any]) -> str:
    return "".join(block.get("text", "") for block in result["content"])


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[StdioPeer]:
    env = {**os.environ, "FIXTURE_CANCEL_LOG": str(tmp_path / "cancelled.log")}
    peer = StdioPeer(DEMO, env=env)
    yield peer
    assert peer.close() == 0


def test_discover_describes_a_dual_era_demo(demo: StdioPeer) -> None:
    found = demo.result("server/discover", modern())
    assert found["supportedVersions"][0] == MODERN
    assert "2025-11-25" in found["supportedVersions"]  # initialize works too
    assert found["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "mcpctl-demo"
    assert "note_add" in found["instructions"]
    assert {"tools", "prompts", "resources", "completions"} <= found["capabilities"].keys()


def test_every_tool_is_described_and_annotated(demo: StdioPeer) -> None:
    tools = {tool["name"]: tool for tool in demo.result("tools/list", modern())["tools"]}
    assert set(tools) == READ_ONLY_TOOLS | {"note_add"}
    for name, tool in tools.items():
        assert tool["description"]
        assert tool["title"]
        assert tool["annotations"]["readOnlyHint"] is (name in READ_ONLY_TOOLS)


def test_modern_calls(demo: StdioPeer) -> None:
    def call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return demo.result("tools/call", modern({"name": name, "arguments": arguments}))

    assert text_of(call("echo", {"message": "héllo"})) == "héllo"
    assert call("add", {"a": 0.5, "b": 2})["structuredContent"] == {"sum": 2.5}
    assert call("add", {"a": "1", "b": 2})["isError"] is True  # wrong type: a tool error, not a crash
    paris = call("now", {"timezone": "Europe/Paris"})["structuredContent"]
    assert paris["timezone"] == "Europe/Paris"
    assert paris["utc_offset"] in ("+01:00", "+02:00")
    unknown = call("now", {"timezone": "Mars/Olympus_Mons"})
    assert unknown["isError"] is True
    assert "IANA" in text_of(unknown)
    assert call("note_add", {"text": "   "})["isError"] is True


def test_legacy_session_sees_logs_and_resource_updates(demo: StdioPeer) -> None:
    init = demo.result(
        "initialize",
        {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    )
    assert init["protocolVersion"] == "2025-06-18"
    demo.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    demo.result("resources/subscribe", {"uri": "demo://notes"})
    saved = demo.result("tools/call", {"name": "note_add", "arguments": {"text": "buy milk"}})
    assert text_of(saved) == "saved note 1"
    methods = [m["method"] for m in demo.notifications]
    assert methods == ["notifications/message", "notifications/resources/updated"]
    notes = demo.result("resources/read", {"uri": "demo://notes"})["contents"][0]
    assert notes["mimeType"] == "application/json"
    assert '"buy milk"' in notes["text"]
    missing = demo.request("resources/read", {"uri": "demo://notes/42"})
    assert missing["error"]["code"] == -32002  # the legacy resource-not-found code
    prompt = demo.result("prompts/get", {"name": "summarize_notes", "arguments": {}})
    assert prompt["messages"][0]["content"]["text"].endswith("- buy milk")


def test_completion_offers_styles_and_note_ids(demo: StdioPeer) -> None:
    demo.result("tools/call", modern({"name": "note_add", "arguments": {"text": "x"}}))
    ref = {"type": "ref/prompt", "name": "summarize_notes"}
    styles = demo.result(
        "completion/complete", modern({"ref": ref, "argument": {"name": "style", "value": "a "}})
    )
    assert styles["completion"]["values"] == ["a haiku", "a table"]
    template = {"type": "ref/resource", "uri": "demo://notes/{id}"}
    ids = demo.result(
        "completion/complete", modern({"ref": template, "argument": {"name": "id", "value": ""}})
    )
    assert ids["completion"]["values"] == ["1"]


def test_countdown_progress_and_cancellation(demo: StdioPeer, tmp_path: Path) -> None:
    params = modern({"name": "countdown", "arguments": {"count": 2, "interval": 0}}, progressToken="p")
    done = demo.result("tools/call", params)
    assert text_of(done) == "counted down from 2: liftoff!"
    progress = [m["params"] for m in demo.notifications if m["method"] == "notifications/progress"]
    assert [(p["progress"], p["total"], p["message"]) for p in progress] == [(1, 2, "1…"), (2, 2, "liftoff")]
    long_one = demo.start(
        "tools/call", modern({"name": "countdown", "arguments": {"count": 60, "interval": 10}})
    )
    demo.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": long_one}})
    assert (
        text_of(demo.result("tools/call", modern({"name": "echo", "arguments": {"message": "next"}})))
        == "next"
    )
    assert (tmp_path / "cancelled.log").read_text() == f"cancelled {long_one}\n"


def test_help_names_the_tools() -> None:
    shown = subprocess.run([*DEMO, "--help"], capture_output=True, text=True, timeout=30, check=True)
    assert "countdown" in shown.stdout
    assert "--era" in shown.stdout


def test_imports_nothing_heavy() -> None:
    """Children must start fast: the demo loads the standard library and nothing of mcpctl's stack."""
    probe = "import sys, mcpctl.demo.__main__; print('\\n'.join(sorted(sys.modules)))"
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, timeout=30, check=True
        ).stdout.split()
    )
    heavy = {
        "pydantic",
        "orjson",
        "anyio",
        "typer",
        "rich",
        "httpx",
        "uvicorn",
        "mcpctl.protocol",
        "mcpctl.config",
    }
    assert not heavy & loaded
    assert "zoneinfo" not in loaded  # imported on the first `now` call only
