"""ClientSession against real stdio fixture servers: both eras, progress, MRTR, server requests, failures."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from mcpctl.backends.base import MessageSink, Transport
from mcpctl.backends.stdio import StdioSpec, StdioTransport
from mcpctl.client.errors import InputError
from mcpctl.client.session import ClientSession, Endpoint
from mcpctl.errors import BackendTimeoutError, ProtocolError, RemoteError, UnavailableError, UsageError
from mcpctl.protocol.eras import Era
from tests.support.host import fixture
from tests.support.waiting import until

T = TypeVar("T")


class Answers:
    """An answerer that records what it was asked and answers from a table."""

    def __init__(self, elicited: dict[str, Any] | Exception | None = None) -> None:
        self.asked: list[tuple[str, dict[str, Any]]] = []
        self._elicited = elicited

    def capabilities(self) -> dict[str, Any]:
        return {"roots": {}, "elicitation": {"form": {}}, "sampling": {}}

    async def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.asked.append((method, params))
        if method == "roots/list":
            return {"roots": [{"uri": "file:///work", "name": "work"}]}
        if method == "sampling/createMessage":
            return {"role": "assistant", "content": {"type": "text", "text": "Paris"}, "model": "test"}
        if isinstance(self._elicited, Exception):
            raise self._elicited
        return self._elicited or {"action": "accept", "content": {"name": "Ann"}}


def stdio(name: str, *args: str, env: dict[str, str] | None = None, era: str = "auto") -> Endpoint:
    command = fixture(name, *args)

    def make(sink: MessageSink) -> Transport:
        spec = StdioSpec(command=command[0], args=tuple(command[1:]), env=env or {}, shutdown_timeout=2.0)
        return StdioTransport(spec, sink)

    return Endpoint(f"server {name!r}", make, era=era)  # type: ignore[arg-type]


def run(
    endpoint: Endpoint, body: Callable[[ClientSession], Awaitable[T]], answers: Answers | None = None
) -> T:
    async def main() -> T:
        async with ClientSession(endpoint, answers or Answers(), startup_timeout=20) as session:
            return await body(session)

    return asyncio.run(main())


async def call(session: ClientSession, tool: str, timeout: float = 20, **arguments: Any) -> dict[str, Any]:
    return await session.request("tools/call", {"name": tool, "arguments": arguments}, within=timeout)


@pytest.mark.parametrize(
    ("name", "args", "era"),
    [
        ("echo.py", (), Era.MODERN),
        ("echo.py", ("--era", "legacy"), Era.LEGACY),
        ("legacy_only.py", (), Era.LEGACY),
        ("modern_only.py", (), Era.MODERN),
    ],
)
def test_either_era_is_found_and_spoken(name: str, args: tuple[str, ...], era: Era) -> None:
    async def body(session: ClientSession) -> tuple[Era | None, list[str], dict[str, Any]]:
        tools = [t["name"] for t in await session.list("tools")]
        return session.era, tools, await call(session, "echo", message="hi")

    found, tools, result = run(stdio(name, *args), body)
    assert found is era
    assert "echo" in tools
    assert result["content"] == [{"type": "text", "text": "hi"}]


def test_progress_notifications_reach_the_callback() -> None:
    seen: list[dict[str, Any]] = []

    async def body(session: ClientSession) -> dict[str, Any]:
        return await session.request(
            "tools/call",
            {"name": "sleep", "arguments": {"seconds": 0.2, "steps": 4}},
            within=20,
            on_progress=seen.append,
        )

    assert run(stdio("slow.py"), body)["content"][0]["text"] == "slept"
    assert [p["progress"] for p in seen] == [1, 2, 3, 4]
    assert all(p["total"] == 4 for p in seen)


def test_modern_input_required_rounds_are_answered_and_retried() -> None:
    answers = Answers()

    async def body(session: ClientSession) -> dict[str, Any]:
        return await call(session, "ask_sequence", prompt="capital?", message="name?")

    result = run(stdio("asker.py", "--era", "modern"), body, answers)
    assert result["content"][0]["text"] == 'sampled: Paris; elicited: accept {"name": "Ann"}'
    assert [method for method, _ in answers.asked] == ["sampling/createMessage", "elicitation/create"]


def test_legacy_server_requests_are_answered_on_the_same_session() -> None:
    answers = Answers()

    async def body(session: ClientSession) -> list[dict[str, Any]]:
        return [await call(session, "ask_roots"), await call(session, "ask_elicitation", message="who?")]

    roots, elicited = run(stdio("asker.py", "--era", "legacy"), body, answers)
    assert roots["content"][0]["text"] == "roots: file:///work"
    assert elicited["content"][0]["text"] == 'elicited: accept {"name": "Ann"}'
    assert answers.asked[-1] == (
        "elicitation/create",
        {
            "mode": "form",
            "message": "who?",
            "requestedSchema": {
                "type": "object",
                "properties": {"name": {"type": "string", "description": "Your name"}},
                "required": ["name"],
            },
            "_meta": {"dev.mcpctl/inputKey": "elicitation"},  # the fixture's key hint, passed on as sent
        },
    )


@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_an_unanswerable_question_fails_the_call_with_that_error(era: str) -> None:
    answers = Answers(InputError("server 'asker' asked for input, but --no-input was given"))

    async def body(session: ClientSession) -> dict[str, Any]:
        return await call(session, "ask_elicitation", message="who?")

    with pytest.raises(InputError, match="--no-input was given"):
        run(stdio("asker.py", "--era", era), body, answers)


def test_a_timeout_cancels_the_request_at_the_server(tmp_path: Path) -> None:
    log = tmp_path / "cancel.log"

    async def body(session: ClientSession) -> None:
        with pytest.raises(BackendTimeoutError, match="did not answer tools/call in time"):
            await call(session, "sleep", timeout=0.3, seconds=30, steps=3)
        # the session is still usable, and the server heard about the cancellation
        assert (await call(session, "log", level="info", message="x"))["content"][0]["text"] == "logged"
        await until(log.exists, 10.0)

    run(stdio("slow.py", env={"FIXTURE_CANCEL_LOG": str(log)}), body)
    assert log.read_text().startswith("cancelled ")


def test_cancelling_the_task_sends_notifications_cancelled(tmp_path: Path) -> None:
    log = tmp_path / "cancel.log"

    async def body(session: ClientSession) -> None:
        progressed: list[dict[str, Any]] = []
        task = asyncio.ensure_future(
            session.request(
                "tools/call",
                {"name": "sleep", "arguments": {"seconds": 30, "steps": 300}},
                within=60,
                on_progress=progressed.append,
            )
        )
        await until(lambda: progressed, 10.0)  # the server is working on it
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await until(log.exists, 10.0)

    run(stdio("slow.py", env={"FIXTURE_CANCEL_LOG": str(log)}), body)
    assert log.read_text().startswith("cancelled ")


def test_protocol_errors_keep_their_code_and_bad_arguments_are_usage_errors() -> None:
    async def boom(session: ClientSession) -> dict[str, Any]:
        return await call(session, "boom")

    with pytest.raises(RemoteError, match="boom: this tool always raises") as caught:
        run(stdio("echo.py"), boom)
    assert caught.value.jsonrpc_code == -32603

    async def unknown(session: ClientSession) -> dict[str, Any]:
        return await call(session, "no_such_tool")

    with pytest.raises(UsageError):
        run(stdio("echo.py"), unknown)


def test_a_server_that_dies_is_unavailable_and_its_stderr_is_shown() -> None:
    async def body(session: ClientSession) -> dict[str, Any]:
        return await call(session, "echo", message="x")

    with pytest.raises(UnavailableError) as caught:
        run(stdio("crashing.py", "--crash-at-start"), body)
    assert "last lines the server printed on stderr" in str(caught.value)
    assert caught.value.exit_code == 3


def test_a_missing_command_is_unavailable() -> None:
    def make(sink: MessageSink) -> Transport:
        return StdioTransport(StdioSpec(command="/nonexistent/mcp-server"), sink)

    async def body(session: ClientSession) -> None:
        return None

    with pytest.raises(UnavailableError, match="command not found"):
        run(Endpoint("server 'x'", make), body)


def test_input_required_on_a_method_that_cannot_have_it_is_a_protocol_error() -> None:
    async def body(session: ClientSession) -> dict[str, Any]:
        original = session._exchange

        async def lying(
            method: str, params: dict[str, Any], deadline: float, on_progress: Any
        ) -> dict[str, Any]:
            await original(method, params, deadline, on_progress)
            return {"resultType": "input_required", "inputRequests": {}}

        session._exchange = lying  # type: ignore[method-assign]
        return await session.request("tools/list", {}, within=5)

    with pytest.raises(ProtocolError, match="only tools/call, prompts/get and resources/read"):
        run(stdio("echo.py"), body)
