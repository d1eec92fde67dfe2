"""Small client pieces: name scoping through the host, x-mcp-header checks, credentials, error mapping."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from rich.console import Console as RichConsole

from mcpctl.client.credentials import ApiKeyCredentials, KeyChoice, local_key
from mcpctl.client.errors import error_from_rpc
from mcpctl.client.progress import ProgressDisplay
from mcpctl.client.session import Endpoint
from mcpctl.client.targets import Target
from mcpctl.client.toolcheck import header_problems
from mcpctl.errors import AuthError, BackendTimeoutError, ExitCode, RemoteError, UnavailableError, UsageError
from mcpctl.hoststate import HostState
from mcpctl.protocol import codes

HOST = HostState(url="http://127.0.0.1:1/mcp", pid=1, started=0.0, admin_token="t", version="0")
NAMES = ["time__now", "time__zone", "echo__echo", "plain", "long__name-abc123"]


def endpoint() -> Endpoint:
    return Endpoint("x", lambda sink: None)  # type: ignore[arg-type,return-value]


def test_without_a_server_names_are_the_wire_names() -> None:
    assert Target(endpoint(), host=HOST).names(NAMES) == {n: n for n in NAMES}


def test_a_server_through_the_host_is_seen_without_its_prefix() -> None:
    target = Target(endpoint(), host=HOST, server="clock", prefix="time")
    assert target.names(NAMES) == {"now": "time__now", "zone": "time__zone"}


def test_an_unprefixed_server_gets_what_no_other_prefix_claims() -> None:
    target = Target(endpoint(), host=HOST, server="bare", prefix="", other_prefixes=("time", "echo", "long"))
    assert target.names(NAMES) == {"plain": "plain"}


def test_an_unknown_prefix_is_read_from_the_names() -> None:
    assert Target(endpoint(), host=HOST, server="echo").names(NAMES) == {"echo": "echo__echo"}
    assert Target(endpoint(), host=HOST, server="bridge").names(NAMES) == {n: n for n in NAMES}


@pytest.mark.parametrize(
    ("prop", "problem"),
    [
        ({"type": "string", "x-mcp-header": ""}, "non-empty"),
        ({"type": "string", "x-mcp-header": "My Region"}, "not a valid header name"),
        ({"type": "string", "x-mcp-header": "Région"}, "not a valid header name"),
        ({"type": "number", "x-mcp-header": "Score"}, "only allowed on string, integer or boolean"),
        ({"type": "object", "x-mcp-header": "Data"}, "only allowed"),
    ],
)
def test_malformed_header_annotations_are_reported(prop: dict[str, object], problem: str) -> None:
    problems = header_problems({"type": "object", "properties": {"p": prop}})
    assert len(problems) == 1
    assert problem in problems[0]


def test_duplicate_header_names_are_reported_case_insensitively() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string", "x-mcp-header": "MyField"},
            "b": {"type": "string", "x-mcp-header": "myfield"},
        },
    }
    assert header_problems(schema) == ["b: x-mcp-header 'myfield' is also used by a"]
    fine = {
        "type": "object",
        "properties": {"r": {"type": "string", "x-mcp-header": "Region"}, "n": {"type": "integer"}},
    }
    assert header_problems(fine) == []


def test_the_api_key_is_looked_up_only_when_needed_and_tried_once() -> None:
    asked: list[str] = []

    def lookup(url: str) -> str | None:
        asked.append(url)
        return "sekrit"

    key = ApiKeyCredentials("http://127.0.0.1:1/mcp", lookup)
    assert asyncio.run(key()) == {}
    assert asked == []
    assert asyncio.run(key.upgrade()) is True
    assert asyncio.run(key()) == {"authorization": "Bearer sekrit"}
    assert asyncio.run(key.upgrade()) is False  # refused with the key: no endless retries
    assert asked == ["http://127.0.0.1:1/mcp"]


def test_the_environment_key_is_the_local_lookup_s_first_choice(tmp_path: Path) -> None:
    environ = {"MCPCTL_API_KEY": "from-env", "MCPCTL_HOME": str(tmp_path)}
    assert local_key(environ, KeyChoice(None))("https://remote.example/mcp") == "from-env"
    assert local_key({"MCPCTL_HOME": str(tmp_path)}, KeyChoice(None))("https://remote.example/mcp") is None
    none = ApiKeyCredentials("http://127.0.0.1:1/mcp", lambda url: None)
    assert asyncio.run(none.upgrade()) is False


@pytest.mark.parametrize(
    ("code", "kind", "exit_code"),
    [
        (codes.UNAUTHORIZED, AuthError, ExitCode.AUTH),
        (codes.FORBIDDEN, AuthError, ExitCode.AUTH),
        (codes.BACKEND_UNAVAILABLE, UnavailableError, ExitCode.UNAVAILABLE),
        (codes.BACKEND_TIMEOUT, BackendTimeoutError, ExitCode.UNAVAILABLE),
        (codes.RATE_LIMITED, UnavailableError, ExitCode.UNAVAILABLE),
        (codes.INVALID_PARAMS, UsageError, ExitCode.USAGE),
        (codes.INTERNAL_ERROR, RemoteError, ExitCode.FAILURE),
    ],
)
def test_rpc_errors_map_to_documented_exit_codes(
    code: int, kind: type[Exception], exit_code: ExitCode
) -> None:
    error = error_from_rpc(code, "boom", {"retryAfter": 3}, "server 'x'")
    assert isinstance(error, kind)
    assert error.exit_code == exit_code


def test_progress_without_a_terminal_is_a_few_plain_lines() -> None:
    stream = io.StringIO()
    now = [0.0]
    display = ProgressDisplay(
        RichConsole(file=stream, force_terminal=False, width=100), "sleep", clock=lambda: now[0]
    )
    for step in range(1, 11):
        now[0] = step * 0.3
        display.update({"progress": step, "total": 10, "message": f"step {step}"})
    display.close()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "progress: 10% step 1"
    assert lines[-1] == "progress: 100% step 10"
    assert len(lines) < 6  # throttled to about one a second


def test_the_answerer_gives_roots_refuses_sampling_and_says_so(tmp_path: Path) -> None:
    from mcpctl.client.answers import CliAnswerer
    from mcpctl.client.elicit import RefusingElicitor

    warnings: list[str] = []
    answerer = CliAnswerer(
        "server 'x'", roots=[tmp_path], elicitor=RefusingElicitor("no"), warn=warnings.append
    )
    assert "sampling" not in answerer.capabilities()
    assert asyncio.run(answerer.answer("roots/list", {})) == {
        "roots": [{"uri": tmp_path.as_uri(), "name": tmp_path.name}]
    }
    assert asyncio.run(answerer.answer("ping", {})) == {}
    with pytest.raises(RemoteError, match="sampling is not configured") as caught:
        asyncio.run(answerer.answer("sampling/createMessage", {"messages": []}))
    assert caught.value.jsonrpc_code == -1  # what the spec suggests for a refusal by the user
    assert "--sampling-command" in warnings[0]
    with pytest.raises(RemoteError, match="does not answer"):
        asyncio.run(answerer.answer("tasks/get", {}))


def test_a_sampling_command_answers_with_json_or_text(tmp_path: Path) -> None:
    import sys

    from mcpctl.client.answers import run_sampling_command

    text = asyncio.run(run_sampling_command(f"{sys.executable} -c \"print('Paris')\"", {"messages": []}))
    assert text["content"] == {"type": "text", "text": "Paris"}
    assert text["role"] == "assistant"
    script = tmp_path / "answer.py"
    script.write_text(
        "import json, sys\n"
        "request = json.load(sys.stdin)\n"
        'count = str(len(request["messages"]))\n'
        'print(json.dumps({"content": {"type": "text", "text": count}, "model": "m"}))\n'
    )
    answer = asyncio.run(run_sampling_command(f"{sys.executable} {script}", {"messages": [1, 2]}))
    assert answer == {"content": {"type": "text", "text": "2"}, "model": "m", "role": "assistant"}


def test_a_login_is_suggested_only_for_a_server_named_by_its_url() -> None:
    challenge = {"wwwAuthenticate": 'Bearer resource_metadata="http://127.0.0.1:1/.well-known/x"'}
    by_url = error_from_rpc(codes.UNAUTHORIZED, "refused", challenge, "http://127.0.0.1:1/mcp")
    assert "`mcpctl login http://127.0.0.1:1/mcp`" in str(by_url)
    host = error_from_rpc(
        codes.UNAUTHORIZED, "refused", challenge, "the mcpctl host at http://127.0.0.1:1/mcp"
    )
    assert "mcpctl login" not in str(host)  # was `mcpctl login the mcpctl host at ...` (issue 13)
