"""The official SDKs through `mcpctl serve -- server-everything` (one shared 2025-era child): every feature.

The Python SDK in its default mode negotiates 2026-07-28 with mcpctl, so server-everything's
questions reach it as input_required rounds; the TypeScript SDK (a 2025-era client) gets them as
server->client requests. Either way each question reaches the callbacks of the client whose call
asked it, also when two clients call at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from tests.support.host import ROOT, HostProcess, start_host
from tests.support.node import EVERYTHING, NODE
from tests.support.sdk import Recorder

pytestmark = pytest.mark.slow

TS_CLIENT = ROOT / "tests" / "node" / "sdk_client.mjs"
# server-everything's random log messages: "Debug-level message", "Alert level-message", ...
LEVEL_MESSAGE = re.compile(r"level[- ]message")


@pytest.fixture
def everything(home: Path) -> Iterator[HostProcess]:
    """A fresh bridge each time: server-everything remembers the first roots it is told."""
    host = start_host(home, "--", str(NODE), str(EVERYTHING), "stdio", timeout=90)
    yield host
    host.stop()


def sdk_client(host: HostProcess, recorder: Recorder) -> Client:
    """The Python SDK's client as an application would make it: default mode, every callback."""
    return Client(
        host.url,
        sampling_callback=recorder.sampling,
        elicitation_callback=recorder.elicitation,
        list_roots_callback=recorder.roots,
        logging_callback=recorder.logging,
        log_level="debug",
    )


def text(result: Any) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content)


async def python_asks(host: HostProcess, recorder: Recorder) -> dict[str, str]:
    async with sdk_client(host, recorder) as client:
        assert client.protocol_version == "2026-07-28"
        prompt = {"prompt": f"question from {recorder.tag}", "maxTokens": 10}
        sampled = await client.call_tool("trigger-sampling-request", prompt)
        elicited = await client.call_tool("trigger-elicitation-request", {})
        return {"sampling": text(sampled), "elicitation": text(elicited)}


async def typescript(host: HostProcess, tag: str, steps: str) -> dict[str, Any]:
    done = await anyio.run_process(
        [str(NODE), str(TS_CLIENT), host.url, tag, steps], cwd=TS_CLIENT.parent, check=False
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    report: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return report


def test_the_python_sdk_in_its_default_mode_gets_every_feature(everything: HostProcess) -> None:
    recorder = Recorder("py")

    async def main() -> None:
        async with sdk_client(everything, recorder) as client:
            assert client.protocol_version == "2026-07-28"
            prompt = {"prompt": "question from py", "maxTokens": 10}
            assert "answer for py" in text(await client.call_tool("trigger-sampling-request", prompt))
            assert recorder.sampled == ["Resource trigger-sampling-request context: question from py"]
            assert "- Name: py" in text(await client.call_tool("trigger-elicitation-request", {}))
            assert recorder.elicited == ["Please provide inputs for the following fields:"]
            assert "file:///work/py" in text(await client.call_tool("get-roots-list", {}))
            # once, or twice when server-everything's own ask after initialize lands during the first
            # call (then it is that call's client that answers, in the same round as its sampling)
            assert recorder.roots_asked in (1, 2)
            long = {"duration": 0.4, "steps": 2}
            await client.call_tool(
                "trigger-long-running-operation", long, progress_callback=recorder.on_progress
            )
            assert recorder.progress == [1, 2]
            started = text(await client.call_tool("toggle-simulated-logging", {}))
            await client.call_tool("toggle-simulated-logging", {})  # and off again
            assert started.startswith("Started simulated"), started
            assert any(LEVEL_MESSAGE.search(str(entry)) for entry in recorder.logs), recorder.logs

    anyio.run(main)


def test_the_typescript_sdk_gets_every_feature(everything: HostProcess) -> None:
    report = anyio.run(typescript, everything, "ts", "sampling,elicitation,roots,progress,logging")
    results, seen = report["results"], report["seen"]
    assert "answer for ts" in results["sampling"]
    assert seen["sampled"] == ["Resource trigger-sampling-request context: question from ts"]
    assert "- Name: ts" in results["elicitation"]
    assert "file:///work/ts" in results["roots"]
    assert seen["rootsAsked"] in (1, 2)  # as for the Python SDK: server-everything's own ask may land too
    assert seen["progress"] == [1, 2]
    assert results["logging"].startswith("Started simulated")
    assert any(LEVEL_MESSAGE.search(str(entry)) for entry in seen["logs"]), seen["logs"]


@pytest.mark.parametrize(
    "clients", [("python", "python"), ("typescript", "typescript"), ("python", "typescript")]
)
def test_two_clients_asking_at_once_are_each_answered_by_their_own_callbacks(
    everything: HostProcess, clients: tuple[str, str]
) -> None:
    recorders = {f"{kind}{n}": Recorder(f"{kind}{n}") for n, kind in enumerate(clients)}
    results: dict[str, dict[str, str]] = {}
    seen: dict[str, dict[str, Any]] = {}

    async def run(tag: str) -> None:
        if tag.startswith("python"):
            results[tag] = await python_asks(everything, recorders[tag])
            seen[tag] = {"sampled": recorders[tag].sampled, "elicited": recorders[tag].elicited}
        else:
            report = await typescript(everything, tag, "sampling,elicitation")
            results[tag], seen[tag] = report["results"], report["seen"]

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for tag in recorders:
                tg.start_soon(run, tag)

    anyio.run(main)
    for tag in recorders:
        assert f"answer for {tag}" in results[tag]["sampling"], results
        assert f"- Name: {tag}" in results[tag]["elicitation"], results
        # each callback saw exactly its own client's question, once
        assert seen[tag]["sampled"] == [f"Resource trigger-sampling-request context: question from {tag}"]
        assert len(seen[tag]["elicited"]) == 1
