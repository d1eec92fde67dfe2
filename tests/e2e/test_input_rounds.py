"""A 2025-era server's questions to 2026-07-28 clients, through a real host: rounds, and states abused.

The cases of research/bridging.md section 5 that need the real thing (HTTP statuses, a child that
really is cancelled, clients that really close their streams, principals from real API keys).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from mcpctl.protocol import codes
from mcpctl.protocol.headers import standard_headers
from tests.auth.conftest import Cli, cli  # noqa: F401  (a fixture)
from tests.support.host import HostProcess, start_host, write_config
from tests.support.mcp_http import ACCEPT, ModernClient, messages_of
from tests.support.secret_service import secret_service  # noqa: F401  (a fixture)
from tests.support.waiting import wait_until

CAPS = {"sampling": {}, "elicitation": {}}
SAMPLED = {"role": "assistant", "content": {"type": "text", "text": "forty-two"}, "model": "m"}
CONFIG = """
[servers.asker]
command = "{{python}}"
args = ["{{fixtures}}/asker.py", "--era", "legacy"]
env = {{ FIXTURE_CANCEL_LOG = "{log}" }}

[servers.brief]
command = "{{python}}"
args = ["{{fixtures}}/asker.py", "--era", "legacy"]
env = {{ FIXTURE_CANCEL_LOG = "{brief_log}" }}
input_ttl = "1s"
"""


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    home = tmp_path_factory.mktemp("rounds") / "home"
    config = write_config(home, CONFIG.format(log=home / "cancelled.log", brief_log=home / "brief.log"))
    running = start_host(home, "--config", str(config))
    yield running
    running.stop()


def cancelled(host: HostProcess, server: str = "asker") -> list[str]:
    """The tools/call ids the child saw cancelled (its FIXTURE_CANCEL_LOG)."""
    path = host.home / ("cancelled.log" if server == "asker" else "brief.log")
    return path.read_text().split() if path.exists() else []


OPEN: list[ModernClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while OPEN:
        OPEN.pop().http.close()


class Rounds:
    """A raw 2026-07-28 client of one tool: first request, retries with input, every byte visible."""

    def __init__(self, host: HostProcess, tool: str, arguments: dict[str, Any], **client: Any) -> None:
        self.client = ModernClient(host.url, capabilities=client.pop("caps", CAPS), **client)
        OPEN.append(self.client)
        self.tool = tool
        self.arguments = arguments

    def body(self, token: object = None, **extra: Any) -> dict[str, Any]:
        params: dict[str, Any] = {"name": self.tool, "arguments": self.arguments, **extra}
        if token is not None:
            params["_meta"] = {"progressToken": token}
        return self.client.body("tools/call", params)

    def send(self, token: object = None, **extra: Any) -> tuple[int, list[dict[str, Any]]]:
        response = self.client.post(self.body(token, **extra))
        return response.status_code, messages_of(response)

    def first(self) -> dict[str, Any]:
        """The first request, which must be answered input_required."""
        status, messages = self.send()
        result = messages[-1]["result"]
        assert status == 200 and result["resultType"] == "input_required", messages
        return result  # type: ignore[no-any-return]

    def retry(self, state: str, answers: dict[str, Any], **extra: Any) -> tuple[int, dict[str, Any]]:
        status, messages = self.send(inputResponses=answers, requestState=state, **extra)
        return status, messages[-1]


def refused(status: int, answer: dict[str, Any], reason: str) -> None:
    assert status == 400, answer
    assert answer["error"]["code"] == codes.INVALID_PARAMS, answer
    assert answer["error"]["data"]["reason"] == reason, answer


def test_each_question_is_a_round_with_its_own_state_and_the_last_retry_gets_the_result(
    host: HostProcess,
) -> None:
    """Cases 1 and 2: one question per round, states that differ, then the result."""
    rounds = Rounds(host, "asker__ask_sequence", {"prompt": "meaning?", "message": "name?"})
    first = rounds.first()
    assert list(first["inputRequests"]) == ["sampling"]  # the server's own key (dev.mcpctl/inputKey)
    assert first["inputRequests"]["sampling"]["method"] == "sampling/createMessage"
    status, second = rounds.retry(first["requestState"], {"sampling": SAMPLED})
    assert status == 200
    second_result = second["result"]
    assert second_result["resultType"] == "input_required"
    assert list(second_result["inputRequests"]) == ["elicitation"]
    assert second_result["requestState"] != first["requestState"]
    accepted = {"action": "accept", "content": {"name": "Ada"}}
    status, done = rounds.retry(second_result["requestState"], {"elicitation": accepted})
    assert status == 200
    assert done["result"]["resultType"] == "complete"
    assert done["result"]["content"][0]["text"] == 'sampled: forty-two; elicited: accept {"name": "Ada"}'


def test_a_state_past_its_time_is_refused_and_the_server_was_answered_and_cancelled(
    host: HostProcess,
) -> None:
    """Case 5: input_ttl 1 s; the server's question gets {action: cancel}, its call a cancel."""
    rounds = Rounds(host, "brief__ask_then_work", {"seconds": 10, "steps": 2})
    first = rounds.first()
    wait_until(lambda: cancelled(host, "brief"), 10, message="the child's call cancelled at expiry")
    status, answer = rounds.retry(first["requestState"], {"who": {"action": "accept", "content": {}}})
    refused(status, answer, "invalid_request_state")


def test_a_state_altered_replayed_or_for_other_arguments_is_refused(host: HostProcess) -> None:
    """Case 6: a flipped byte, other arguments, and two retries at once: exactly one gets through."""
    rounds = Rounds(host, "asker__ask_elicitation", {"message": "name?"})
    state = rounds.first()["requestState"]
    answers = {"elicitation": {"action": "accept", "content": {"name": "Ada"}}}
    flipped = state[:-5] + ("A" if state[-5] != "A" else "B") + state[-4:]
    refused(*rounds.retry(flipped, answers), "invalid_request_state")
    other = Rounds(host, "asker__ask_elicitation", {"message": "someone else?"})
    refused(*other.retry(state, answers), "request_mismatch")

    outcomes: list[tuple[int, dict[str, Any]]] = []
    start = threading.Barrier(2)

    def retry() -> None:
        start.wait()
        outcomes.append(rounds.retry(state, answers))

    threads = [threading.Thread(target=retry) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    statuses = sorted(status for status, _ in outcomes)
    assert statuses == [200, 400], outcomes
    [(_, won)] = [o for o in outcomes if o[0] == 200]
    [(lost_status, lost)] = [o for o in outcomes if o[0] == 400]
    assert won["result"]["content"][0]["text"] == 'elicited: accept {"name": "Ada"}'
    refused(lost_status, lost, "invalid_request_state")


def test_closing_the_retrys_stream_cancels_the_call_and_its_state(host: HostProcess) -> None:
    """Case 7: the retry streams progress; the client closes it mid-work; the child is cancelled."""
    before = len(cancelled(host))
    rounds = Rounds(host, "asker__ask_then_work", {"seconds": 30, "steps": 60})
    state = rounds.first()["requestState"]
    answers = {"who": {"action": "accept", "content": {"name": "Ada"}}}
    body = rounds.body("t", inputResponses=answers, requestState=state)
    headers = {"accept": ACCEPT, **standard_headers(body)}
    with httpx.stream("POST", host.url, json=body, headers=headers, timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: ") and orjson.loads(line[6:]).get("method") == "notifications/progress":
                break  # working: now walk away
    wait_until(lambda: len(cancelled(host)) > before, 10, message="the child's call cancelled")
    refused(*rounds.retry(state, answers), "invalid_request_state")


def test_progress_after_the_retry_goes_to_the_retrys_own_token(host: HostProcess) -> None:
    """Case 11: the first request's token was 'first'; the work after the answer reports to 'second'."""
    rounds = Rounds(host, "asker__ask_then_work", {"seconds": 0.3, "steps": 3})
    status, messages = rounds.send("first")
    state = messages[-1]["result"]["requestState"]
    assert [m for m in messages if m.get("method") == "notifications/progress"] == []
    answers = {"who": {"action": "accept", "content": {"name": "Ada"}}}
    status, messages = rounds.send("second", inputResponses=answers, requestState=state)
    assert status == 200
    progress = [m["params"] for m in messages if m.get("method") == "notifications/progress"]
    assert [(p["progressToken"], p["progress"]) for p in progress] == [
        ("second", 1),
        ("second", 2),
        ("second", 3),
    ]
    assert messages[-1]["result"]["content"][0]["text"] == "worked for Ada"


def test_a_question_the_client_cannot_answer_fails_the_call_with_the_missing_capability(
    host: HostProcess,
) -> None:
    """Case 8: no sampling declared; the server is refused (-32601), the client gets -32021 / 400."""
    status, messages = Rounds(host, "asker__ask_sampling", {"prompt": "hi"}, caps={}).send()
    assert status == 400, messages
    error = messages[-1]["error"]
    assert error["code"] == codes.MISSING_CLIENT_CAPABILITY
    assert error["data"] == {"requiredCapabilities": {"sampling": {}}}


def test_a_state_is_good_only_for_the_principal_it_was_given_to(cli: Cli, home: Path) -> None:  # noqa: F811
    """Case 6, another principal: Bob cannot answer (or see through) Alice's round."""
    alice, bob = cli.create_key("alice"), cli.create_key("bob")
    config = write_config(home, CONFIG.format(log=home / "cancelled.log", brief_log=home / "brief.log"))
    host = start_host(home, "--auth", "api-key", "--config", str(config), env=cli.env)
    try:
        as_alice = Rounds(host, "asker__ask_elicitation", {"message": "name?"}, headers=bearer(alice))
        as_bob = Rounds(host, "asker__ask_elicitation", {"message": "name?"}, headers=bearer(bob))
        state = as_alice.first()["requestState"]
        answers = {"elicitation": {"action": "accept", "content": {"name": "Mallory"}}}
        refused(*as_bob.retry(state, answers), "request_mismatch")
        answers = {"elicitation": {"action": "accept", "content": {"name": "Alice"}}}
        status, done = as_alice.retry(state, answers)
        assert status == 200 and done["result"]["content"][0]["text"] == 'elicited: accept {"name": "Alice"}'
    finally:
        host.stop()


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}
