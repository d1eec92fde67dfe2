"""`mcpctl serve` with no configuration serves the bundled demo server, to clients of both eras."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.host import HostProcess, start_host
from tests.support.mcp_http import LegacyClient, ModernClient, messages_of

DEMO_TOOLS = {"echo", "add", "now", "note_add", "note_list", "countdown"}


@pytest.fixture
def demo_host(home: Path) -> Iterator[HostProcess]:
    host = start_host(home)  # an empty MCPCTL_HOME: no config file, no MCPCTL_CONFIG
    yield host
    assert host.stop() == 0


def text_of(result: dict[str, object]) -> str:
    content = result.get("content")
    assert isinstance(content, list)
    return "".join(str(block.get("text", "")) for block in content if isinstance(block, dict))


def test_says_it_serves_the_demo(demo_host: HostProcess) -> None:
    assert "bundled demo server" in demo_host.output()


def test_modern_client_uses_the_demo_tools(demo_host: HostProcess) -> None:
    with ModernClient(demo_host.url) as client:
        names = {tool["name"] for tool in client.result("tools/list")["tools"]}
        assert {f"demo__{name}" for name in DEMO_TOOLS} <= names
        assert text_of(client.call_tool("demo__echo", {"message": "hello"})) == "hello"
        assert client.call_tool("demo__add", {"a": 2, "b": 3})["structuredContent"] == {"sum": 5}
        now = client.call_tool("demo__now", {"timezone": "UTC"})
        assert now["structuredContent"]["utc_offset"] == "+00:00"
        assert client.call_tool("demo__now", {"timezone": "Nowhere/Atlantis"})["isError"] is True


def test_notes_survive_between_requests_and_read_as_resources(demo_host: HostProcess) -> None:
    with ModernClient(demo_host.url) as modern, LegacyClient(demo_host.url) as legacy:
        assert text_of(modern.call_tool("demo__note_add", {"text": "water the plants"})) == "saved note 1"
        assert text_of(legacy.call_tool("demo__note_add", {"text": "call Ann"})) == "saved note 2"
        listed = legacy.call_tool("demo__note_list")["structuredContent"]["notes"]
        assert [note["text"] for note in listed] == ["water the plants", "call Ann"]
        read = modern.result("resources/read", {"uri": "demo://notes/2"})
        assert read["contents"][0]["text"] == "call Ann"
        about = legacy.result("resources/read", {"uri": "demo://about"})
        assert about["contents"][0]["mimeType"] == "text/markdown"
        templates = modern.result("resources/templates/list")["resourceTemplates"]
        assert [t["uriTemplate"] for t in templates] == ["demo://notes/{id}"]
        prompt = modern.result(
            "prompts/get", {"name": "demo__summarize_notes", "arguments": {"style": "a haiku"}}
        )
        assert "call Ann" in prompt["messages"][0]["content"]["text"]


def test_countdown_reports_progress_through_the_gateway(demo_host: HostProcess) -> None:
    with LegacyClient(demo_host.url) as client:
        params = {
            "name": "demo__countdown",
            "arguments": {"count": 3, "interval": 0.01},
            "_meta": {"progressToken": "launch"},
        }
        messages = client.request("tools/call", params)
        progress = [m["params"] for m in messages if m.get("method") == "notifications/progress"]
        assert [p["progress"] for p in progress] == [1, 2, 3]
        assert {p["progressToken"] for p in progress} == {"launch"}
        assert text_of(messages[-1]["result"]) == "counted down from 3: liftoff!"


@pytest.mark.parametrize(
    ("accept", "streamed"),
    [("application/json, text/event-stream", True), ("application/json", False)],
)
def test_progress_streams_to_a_client_that_takes_sse_and_a_json_only_client_gets_the_answer(
    demo_host: HostProcess, accept: str, streamed: bool
) -> None:
    with ModernClient(demo_host.url) as client:
        params = {
            "name": "demo__countdown",
            "arguments": {"count": 3, "interval": 0.01},
            "_meta": {"progressToken": "launch"},
        }
        response = client.post(client.body("tools/call", params), {"accept": accept})
        assert response.status_code == 200
        media = response.headers["content-type"]
        assert media.startswith("text/event-stream" if streamed else "application/json")
        messages = messages_of(response)
        progress = [m["params"]["progress"] for m in messages if m.get("method") == "notifications/progress"]
        assert progress == ([1, 2, 3] if streamed else [])
        assert text_of(messages[-1]["result"]) == "counted down from 3: liftoff!"
