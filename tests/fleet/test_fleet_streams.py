"""A 2025-era session's streams across a fleet: a GET stream resumed on another instance with
`Last-Event-ID`, a call cancelled through another instance, and a session that another API key's
requests cannot reach on any instance."""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections import deque
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from mcpctl.auth.apikeys import KEYS_FILE
from mcpctl.paths import Paths, ensure_private_dir
from mcpctl.protocol import codes
from mcpctl.protocol.sse import Event, SSEDecoder
from tests.auth.conftest import Cli
from tests.auth.gateway import bearer
from tests.fleet.conftest import ECHO, Fleet, on, start_fleet, stream_call
from tests.support.host import HostProcess, base_env
from tests.support.mcp_http import LegacyClient
from tests.support.redis import RedisServer
from tests.support.secret_service import keyring_env, secret_service  # noqa: F401 (a fixture)
from tests.support.waiting import wait_until

LIST_CHANGED = "notifications/tools/list_changed"


class EventStream:
    """A session's GET stream, read in the test's own thread, so the test decides when it closes:
    each SSE event with its id. A read waits at most `read_timeout` for bytes (the server sends a
    keep-alive every 15 s), and `next` gives up at its own deadline."""

    def __init__(
        self,
        url: str,
        client: LegacyClient,
        last_event_id: str | None = None,
        read_timeout: float = 20.0,
    ) -> None:
        headers = {**client.headers(), "accept": "text/event-stream"}
        if last_event_id is not None:
            headers["last-event-id"] = last_event_id
        self._exit = contextlib.ExitStack()
        try:
            http = self._exit.enter_context(httpx.Client(timeout=httpx.Timeout(10.0, read=read_timeout)))
            self.response = self._exit.enter_context(http.stream("GET", url, headers=headers))
            assert self.response.status_code == 200, self.response.read()
        except BaseException:
            self._exit.close()
            raise
        self._chunks = self.response.iter_text()
        self._decoder = SSEDecoder()
        self._events: deque[Event] = deque()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Hang up (the instance notices the client going)."""
        self._exit.close()

    def next(self, timeout: float = 15.0) -> tuple[str | None, dict[str, Any]]:
        """The next event's id and message."""
        deadline = time.monotonic() + timeout
        while not self._events:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no event on the GET stream within {timeout}s")
            try:
                chunk = next(self._chunks)
            except StopIteration:
                raise AssertionError("the GET stream ended") from None
            self._events.extend(e for e in self._decoder.feed(chunk) if e.data)
        event = self._events.popleft()
        return event.id, orjson.loads(event.data)

    def next_change(self) -> str:
        """The id of the next event, which must be a tools/list_changed."""
        event_id, message = self.next()
        assert message.get("method") == LIST_CHANGED, message
        assert event_id, f"an event without an id: {message}"
        return event_id


def add_tool(client: LegacyClient, name: str) -> None:
    """A new tool on the echo child of the instance `client` talks to: a list change for every session."""
    assert client.call_tool("echo__add_tool", {"name": name})["content"][0]["text"] == f"added {name}"


@pytest.mark.slow
def test_last_event_id_resumes_a_get_stream_on_another_instance_exactly_once(fleet: Fleet) -> None:
    """Two changes reach the GET stream on a; the client kept only the first one's id (the second
    was on the wire when its connection dropped). A third change happens while no stream is open.
    A GET on b with `Last-Event-ID: <first>` delivers the second (again: the client asked for it,
    whatever a delivered) and the third, never the first, and then nothing twice."""
    a, b = fleet.hosts[0].url, fleet.hosts[1].url
    with LegacyClient(a) as client:
        with EventStream(a, client) as first:
            add_tool(client, "one")
            kept = first.next_change()
            add_tool(client, "two")
            lost = first.next_change()
        assert kept != lost
        add_tool(client, "three")  # while the session has no GET stream open anywhere
        on(client, b)
        with EventStream(b, client, last_event_id=kept) as resumed:
            assert resumed.next_change() == lost  # what followed `kept`, not `kept` itself
            third = resumed.next_change()
            assert third not in (kept, lost)
            # one more change: the next event is it, so nothing before it came twice
            add_tool(client, "four")
            fourth = resumed.next_change()
            assert fourth not in (kept, lost, third)


SLOW = """
[servers.slow]
command = "{python}"
args = ["{fixtures}/slow.py"]
env = { FIXTURE_CANCEL_LOG = "@log@" }
"""


def audit_records(host: HostProcess) -> list[dict[str, Any]]:
    """What an instance's audit trail holds so far (in a fleet: a folder per instance)."""
    return [
        json.loads(line)
        for path in sorted((host.home / "logs" / "audit").glob("*/*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]


@pytest.mark.slow
def test_a_cancellation_sent_to_another_instance_ends_the_call_where_it_runs(
    tmp_path: Path,
    redis_server: RedisServer,
) -> None:
    """A 2025-era session's slow call runs on a (each instance runs its own `slow` child); its
    notifications/cancelled is POSTed to b. a cancels the call at its child, the client's stream
    for the call ends at once with mcpctl's cancellation error, and a's trail says `cancelled`."""
    cancel_log = tmp_path / "cancelled.log"  # every instance's child would write here; only a's does
    fleet = start_fleet(tmp_path, redis_server, count=2, config=SLOW.replace("@log@", str(cancel_log)))
    try:
        a, b = fleet.hosts
        with LegacyClient(a.url) as client:
            body = {
                "jsonrpc": "2.0",
                "id": "call-9",
                "method": "tools/call",
                "params": {
                    "name": "slow__sleep",
                    "arguments": {"seconds": 120, "steps": 1200},
                    "_meta": {"progressToken": 9},
                },
            }
            thread, seen = stream_call(a.url, client, body)
            wait_until(
                lambda: any(m.get("method") == "notifications/progress" for m in seen),
                20,
                message="the child on a works on the call",
            )
            on(client, b.url)
            sent = time.monotonic()
            cancelled = client.notify("notifications/cancelled", {"requestId": "call-9", "reason": "from b"})
            assert cancelled.status_code == 202, cancelled.text
            thread.join(15)
            assert not thread.is_alive(), "the call's stream on a did not end"
            assert time.monotonic() - sent < 10  # promptly, not after the 120 s the tool sleeps
            final = seen[-1]
            assert final.get("id") == "call-9", seen[-3:]
            assert final.get("error") == {"code": codes.INTERNAL_ERROR, "message": "cancelled: from b"}
            assert not any("result" in m or "transport_error" in m for m in seen)
            # the child on a was told (under the id a gave it), once
            wait_until(lambda: cancel_log.exists() and cancel_log.read_text(), 10, message="the child hears")
            assert cancel_log.read_text().startswith("cancelled ")
            assert len(cancel_log.read_text().splitlines()) == 1
            assert "call-9" not in cancel_log.read_text()

            def recorded() -> list[dict[str, Any]]:
                return [r for r in audit_records(a) if r.get("rpc_id") == "call-9"]

            [record] = wait_until(recorded, 10, message="a's trail records the call")
            assert record["outcome"] == "cancelled", record
            assert record["tool"] == "slow__sleep"
            assert record["session"] == client.session_id
            assert not [r for r in audit_records(b) if r.get("rpc_id") == "call-9"]  # it never ran on b
            # the session goes on, through b
            logged = client.call_tool("slow__log", {"level": "info", "message": "after"})
            assert logged["content"][0]["text"] == "logged"
    finally:
        fleet.stop()


@pytest.mark.slow
def test_another_keys_request_for_a_session_gets_404_on_every_instance(
    tmp_path: Path,
    redis_server: RedisServer,
    secret_service: dict[str, str],  # noqa: F811
) -> None:
    """Two real API keys, made with `mcpctl keys create`; every instance reads the same key file (as
    the Kubernetes manifest mounts it into each pod's state dir). alice's session, opened on a, is
    not found for mallory's key on b (POST, GET, DELETE: 404) and works for alice's key on b."""
    keys_home = tmp_path / "keys"
    cli = Cli(keys_home, keyring_env(base_env(keys_home), secret_service))
    alice, mallory = cli.create_key("alice"), cli.create_key("mallory")
    key_file = Paths.from_env({"MCPCTL_HOME": str(keys_home)}).state_dir / KEYS_FILE
    fleet = start_fleet(tmp_path, redis_server, count=2, config=ECHO + '\n[auth]\nmode = "api-key"\n')
    try:
        for host in fleet.hosts:  # a key file that changes counts from the next request: no restart
            state_dir = ensure_private_dir(Paths.from_env({"MCPCTL_HOME": str(host.home)}).state_dir)
            shutil.copyfile(key_file, state_dir / KEYS_FILE)
            (state_dir / KEYS_FILE).chmod(0o600)
        a, b = fleet.hosts
        body = {"jsonrpc": "2.0", "id": 99, "method": "tools/list"}
        with LegacyClient(a.url, headers=bearer(alice)) as client:
            assert client.session_id
            stolen = {**client.headers(), **bearer(mallory)}
            hijack = httpx.post(b.url, json=body, headers=stolen, timeout=10)
            assert hijack.status_code == 404, hijack.text
            with httpx.stream(
                "GET", b.url, headers={**stolen, "accept": "text/event-stream"}, timeout=10
            ) as stream:
                assert stream.status_code == 404
            assert httpx.delete(b.url, headers=stolen, timeout=10).status_code == 404
            # no key at all: refused before any session is looked up
            keyless = httpx.post(b.url, json=body, headers=client.headers(), timeout=10)
            assert keyless.status_code == 401, keyless.text
            # the owner's key, on b: the same session (mallory's DELETE ended nothing)
            on(client, b.url)
            assert client.call_tool("echo__echo", {"message": "mine"})["content"][0]["text"] == "mine"
            with httpx.stream(
                "GET", b.url, headers={**client.headers(), **bearer(alice), "accept": "text/event-stream"}
            ) as stream:
                assert stream.status_code == 200
            on(client, a.url)
            assert client.call_tool("echo__echo", {"message": "still"})["content"][0]["text"] == "still"
            # and mallory's key, on a where the session was opened, finds nothing either
            assert httpx.post(a.url, json=body, headers=stolen, timeout=10).status_code == 404
    finally:
        fleet.stop()
