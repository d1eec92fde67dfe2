"""Real third-party peers: the official Python SDK as client, server-everything (npm) behind mcpctl."""

from __future__ import annotations

import json
from collections.abc import Iterator

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPDeprecationWarning

from tests.support.host import HostProcess, start_host, write_config
from tests.support.node import EVERYTHING, NODE
from tests.support.sdk import Recorder

pytestmark = pytest.mark.slow  # real third-party servers from npm


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    home = tmp_path_factory.mktemp("third-party") / "home"
    config = write_config(
        home,
        f"""
[servers.everything]
command = "{NODE}"
args = ["{EVERYTHING}", "stdio"]
startup_timeout = 60

[servers.slow]
command = "{{python}}"
args = ["{{fixtures}}/slow.py"]

[servers.asker]
command = "{{python}}"
args = ["{{fixtures}}/asker.py"]

[servers.oldasker]
command = "{{python}}"
args = ["{{fixtures}}/asker.py", "--era", "legacy"]

[servers.isoasker]
command = "{{python}}"
args = ["{{fixtures}}/asker.py", "--era", "legacy"]
isolation = "session"

[servers.roots]
command = "{NODE}"
args = ["{EVERYTHING}", "stdio"]
isolation = "session"
startup_timeout = 60
""",
    )
    running = start_host(home, "--config", str(config), timeout=90)
    yield running
    running.stop()


def client_for(host: HostProcess, mode: str, recorder: Recorder) -> Client:
    return Client(
        host.url,
        mode=mode,
        sampling_callback=recorder.sampling,
        elicitation_callback=recorder.elicitation,
        list_roots_callback=recorder.roots,
        logging_callback=recorder.logging,
        log_level="debug" if mode != "legacy" else None,
    )


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_sdk_client_calls_tools_with_progress(host: HostProcess, mode: str) -> None:
    recorder = Recorder("p")

    async def main() -> None:
        async with client_for(host, mode, recorder) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            assert {"everything__echo", "slow__sleep", "asker__ask_sampling"} <= tools
            echoed = await client.call_tool("everything__echo", {"message": "hi"})
            assert echoed.content[0].text == "Echo: hi"  # type: ignore[union-attr]
            slept = await client.call_tool(
                "slow__sleep", {"seconds": 0.2, "steps": 4}, progress_callback=recorder.on_progress
            )
            assert slept.content[0].text == "slept"  # type: ignore[union-attr]

    anyio.run(main)
    assert recorder.progress == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("mode", "server", "together"),
    [
        # A shared legacy child does not say which call a request belongs to: exact one client at a time.
        ("legacy", "oldasker", False),
        # Exact with clients at once: a per-session child, or a modern child (input comes back in its result).
        ("legacy", "isoasker", True),
        ("legacy", "asker", True),
        ("2026-07-28", "asker", True),
    ],
)
def test_sampling_and_elicitation_reach_the_calling_client(
    host: HostProcess, mode: str, server: str, together: bool
) -> None:
    """Each server->client request goes to the client whose call asked."""
    first, second = Recorder("first"), Recorder("second")

    async def ask(recorder: Recorder) -> tuple[str, str]:
        async with client_for(host, mode, recorder) as client:
            sampled = await client.call_tool(f"{server}__ask_sampling", {"prompt": f"q from {recorder.tag}"})
            elicited = await client.call_tool(
                f"{server}__ask_elicitation", {"message": f"who is {recorder.tag}?"}
            )
            return sampled.content[0].text, elicited.content[0].text  # type: ignore[union-attr]

    async def main() -> list[tuple[str, str]]:
        results: list[tuple[str, str]] = []

        async def run(recorder: Recorder) -> None:
            results.append(await ask(recorder))

        if not together:
            await run(first)
            await run(second)
            return results
        async with anyio.create_task_group() as tg:
            tg.start_soon(run, first)
            tg.start_soon(run, second)
        return results

    results = anyio.run(main)
    assert sorted(r[0] for r in results) == ["sampled: answer for first", "sampled: answer for second"]
    assert sorted(json.loads(r[1].split(" ", 2)[2])["name"] for r in results) == ["first", "second"]
    assert all(r[1].startswith("elicited: accept ") for r in results)
    assert first.sampled and second.sampled and first.elicited and second.elicited
    for recorder in (first, second):
        assert all(recorder.tag in text for text in recorder.sampled + recorder.elicited)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_log_messages_reach_the_client_that_asked(host: HostProcess, mode: str) -> None:
    recorder = Recorder("logs")

    async def main() -> None:
        async with client_for(host, mode, recorder) as client:
            if mode == "legacy":
                with pytest.warns(MCPDeprecationWarning):
                    await client.set_logging_level("info")
            result = await client.call_tool("slow__log", {"level": "warning", "message": "disk almost full"})
            assert result.content[0].text == "logged"  # type: ignore[union-attr]

    anyio.run(main)
    assert any("disk almost full" in str(entry) for entry in recorder.logs), recorder.logs


def test_server_everything_sampling_elicitation_and_progress_through_the_gateway(host: HostProcess) -> None:
    recorder = Recorder("ev")

    async def main() -> None:
        async with client_for(host, "legacy", recorder) as client:
            sampled = await client.call_tool(
                "everything__trigger-sampling-request", {"prompt": "hello", "maxTokens": 10}
            )
            assert "answer for ev" in sampled.content[0].text  # type: ignore[union-attr]
            elicited = await client.call_tool("everything__trigger-elicitation-request", {})
            texts = [block.text for block in elicited.content]  # type: ignore[union-attr]
            assert texts[0] == "✅ User provided the requested information!", texts
            assert '"action": "accept"' in texts[-1] and '"name": "ev"' in texts[-1], texts
            done = await client.call_tool(
                "everything__trigger-long-running-operation",
                {"duration": 1, "steps": 2},
                progress_callback=recorder.on_progress,
            )
            assert done.content

    anyio.run(main)
    assert recorder.sampled and "hello" in recorder.sampled[0]
    assert recorder.elicited
    assert recorder.progress == [1, 2]


def test_roots_reach_a_per_session_child(host: HostProcess) -> None:
    recorder = Recorder("rooted")

    async def main() -> str:
        async with client_for(host, "legacy", recorder) as client:
            result = await client.call_tool("roots__get-roots-list", {})
            return "".join(getattr(c, "text", "") for c in result.content)

    text = anyio.run(main)
    assert "file:///work/rooted" in text
