"""Showing results: text plainly, JSON once, binaries saved to files, links and resources listed."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from mcpctl.client.render import Renderer, error_text

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()


class Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[str, Any]] = []

    def data(self, text: str) -> None:
        self.lines.append(("data", text))

    def json(self, value: Any) -> None:
        self.lines.append(("json", value))


def render(result: dict[str, Any], tmp_path: Path) -> tuple[list[tuple[str, Any]], Renderer]:
    out = Recorder()
    renderer = Renderer(out, tmp_path / "files", "my tool", clock=lambda: 0.0)
    renderer.tool_result(result)
    return out.lines, renderer


def test_text_is_printed_as_is_and_json_text_pretty(tmp_path: Path) -> None:
    lines, _ = render(
        {"content": [{"type": "text", "text": "hello"}, {"type": "text", "text": '{"a": 1}'}]}, tmp_path
    )
    assert lines == [("data", "hello"), ("json", {"a": 1})]


def test_structured_content_is_shown_once(tmp_path: Path) -> None:
    result = {"content": [{"type": "text", "text": '{"sum": 5}'}], "structuredContent": {"sum": 5}}
    lines, _ = render(result, tmp_path)
    assert lines == [("json", {"sum": 5})]


def test_content_is_shown_and_its_structured_copy_is_not(tmp_path: Path) -> None:
    """demo__add answers "5" and {"sum": 5}; filesystem and memory servers send text and a copy."""
    lines, _ = render({"content": [{"type": "text", "text": "5"}], "structuredContent": {"sum": 5}}, tmp_path)
    assert lines == [("data", "5")]
    listing = "[FILE] a.txt\n[DIR] b"
    copy = {"content": listing}
    result = {"content": [{"type": "text", "text": listing}], "structuredContent": copy}
    assert render(result, tmp_path)[0] == [("data", listing)]


def test_structured_content_is_shown_when_there_is_no_content(tmp_path: Path) -> None:
    assert render({"content": [], "structuredContent": {"sum": 5}}, tmp_path)[0] == [("json", {"sum": 5})]
    assert render({"structuredContent": [1, 2]}, tmp_path)[0] == [("json", [1, 2])]


def test_images_and_audio_are_saved_and_their_paths_printed(tmp_path: Path) -> None:
    result = {
        "content": [
            {"type": "image", "data": PNG, "mimeType": "image/png"},
            {"type": "audio", "data": PNG, "mimeType": "audio/wav"},
        ]
    }
    lines, renderer = render(result, tmp_path)
    assert [p.suffix for p in renderer.saved] == [".png", ".wav"]
    assert renderer.saved[0].read_bytes() == b"\x89PNG\r\n\x1a\nfake"
    assert renderer.saved[0].parent == tmp_path / "files"
    assert renderer.saved[0].name.startswith("my-tool-")
    assert lines[0] == ("data", f"[image saved to {renderer.saved[0]} (image/png)]")
    assert str(renderer.saved[1]) in lines[1][1]


def test_links_and_embedded_resources_are_shown(tmp_path: Path) -> None:
    result = {
        "content": [
            {
                "type": "resource_link",
                "uri": "file:///a.txt",
                "name": "a.txt",
                "mimeType": "text/plain",
                "description": "A",
            },
            {"type": "resource", "resource": {"uri": "test://r", "mimeType": "text/plain", "text": "inside"}},
            {"type": "resource", "resource": {"uri": "test://b", "mimeType": "image/png", "blob": PNG}},
            {"type": "unknown-kind", "x": 1},
        ]
    }
    lines, renderer = render(result, tmp_path)
    assert lines[0] == ("data", "[link file:///a.txt (a.txt, text/plain)] A")
    assert lines[1:3] == [("data", "[resource test://r (text/plain)]"), ("data", "inside")]
    assert lines[3] == ("data", f"[resource test://b (image/png) saved to {renderer.saved[0]}]")
    assert lines[4] == ("json", {"type": "unknown-kind", "x": 1})


def test_prompt_messages_and_read_contents(tmp_path: Path) -> None:
    out = Recorder()
    renderer = Renderer(out, tmp_path, "p")
    renderer.prompt_result(
        {"description": "Greets", "messages": [{"role": "user", "content": {"type": "text", "text": "Hi"}}]}
    )
    renderer.read_result({"contents": [{"uri": "test://t", "text": "plain"}]})
    assert out.lines == [("data", "# Greets"), ("data", "[user]"), ("data", "Hi"), ("data", "plain")]


def test_error_text_only_for_all_text_results() -> None:
    assert error_text({"content": [{"type": "text", "text": "bad"}], "isError": True}) == "bad"
    assert error_text({"content": [{"type": "image", "data": PNG, "mimeType": "image/png"}]}) is None
