"""Client commands against a real third-party server: @modelcontextprotocol/server-everything from npm."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Mcpctl
from tests.support.node import EVERYTHING, NODE, free_port, serve_everything

pytestmark = pytest.mark.slow  # a real third-party server from npm


@pytest.fixture(scope="module")
def everything(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of server-everything in streamableHttp mode (a 2025-era server, the official SDK's)."""
    proc, port = serve_everything("streamableHttp", tmp_path_factory.mktemp("everything") / "server.log")
    yield f"http://127.0.0.1:{port}/mcp"
    proc.terminate()
    proc.wait(10)


def test_tools_and_a_call_over_streamable_http(everything: str, mcpctl: Mcpctl) -> None:
    listed = mcpctl("tools", "--url", everything)
    assert listed.returncode == 0, listed.stderr
    assert "get-sum\tReturns the sum of two numbers" in listed.stdout
    done = mcpctl("call", "get-sum", "a:=2", "b=3", "--url", everything)
    assert (done.returncode, done.stdout) == (0, "The sum of 2 and 3 is 5.\n")


def test_structured_content_images_and_links(everything: str, mcpctl: Mcpctl, tmp_path: Path) -> None:
    structured = mcpctl("call", "get-structured-content", "location=Chicago", "--url", everything)
    assert json.loads(structured.stdout)["temperature"] == 36
    image = mcpctl("call", "get-tiny-image", "--save-dir", str(tmp_path / "out"), "--url", everything)
    saved = list((tmp_path / "out").iterdir())
    assert len(saved) == 1
    assert saved[0].read_bytes().startswith(b"\x89PNG")
    assert f"[image saved to {saved[0]} (image/png)]" in image.stdout
    links = mcpctl("call", "get-resource-links", "count=2", "--url", everything)
    assert "[link demo://resource/dynamic/text/2 (Text Resource 2, text/plain)]" in links.stdout


def test_progress_roots_and_elicitation_over_http(everything: str, mcpctl: Mcpctl, tmp_path: Path) -> None:
    long = mcpctl("call", "trigger-long-running-operation", "duration=1", "steps=2", "--url", everything)
    assert long.returncode == 0
    assert "progress: 100%" in long.stderr
    roots = mcpctl("call", "get-roots-list", "--root", str(tmp_path), "--url", everything)
    assert f"URI: {tmp_path.as_uri()}" in roots.stdout
    refused = mcpctl("call", "trigger-elicitation-request", "--no-input", "--url", everything)
    assert refused.returncode == 2
    assert "--no-input was given" in refused.stderr


def test_resources_and_prompts_over_http(everything: str, mcpctl: Mcpctl) -> None:
    assert (
        "demo://resource/static/document/architecture.md" in mcpctl("resources", "--url", everything).stdout
    )
    read = mcpctl("read", "demo://resource/dynamic/text/1", "--url", everything)
    assert read.returncode == 0
    assert read.stdout.strip()
    assert "simple-prompt" in mcpctl("prompts", "--url", everything).stdout


def test_an_unreachable_url_exits_3(mcpctl: Mcpctl) -> None:
    done = mcpctl("tools", "--url", f"http://127.0.0.1:{free_port()}/mcp")
    assert done.returncode == 3
    assert "cannot reach" in done.stderr


def test_the_legacy_http_sse_transport(mcpctl: Mcpctl, tmp_path: Path) -> None:
    proc, port = serve_everything("sse", tmp_path / "sse.log")
    try:
        done = mcpctl("call", "echo", "message=old transport", "--url", f"http://127.0.0.1:{port}/sse")
        assert (done.returncode, done.stdout) == (0, "Echo: old transport\n"), done.stderr
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_same_server_as_a_stdio_command(mcpctl: Mcpctl) -> None:
    done = mcpctl("call", "echo", "message=over stdio", "--", str(NODE), str(EVERYTHING), "stdio")
    assert (done.returncode, done.stdout) == (0, "Echo: over stdio\n"), done.stderr
