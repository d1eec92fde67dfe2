"""Property tests: across interleavings, cancellations and restarts, each answer reaches its call once."""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from mcpctl.router.actions import SendToBackend, StreamToClient
from mcpctl.router.calls import Call
from mcpctl.router.context import ClientContext
from mcpctl.router.links import Link
from tests.router.harness import Pair, make, tools


class Interleavings(RuleBasedStateMachine):
    """Clients reuse the same request ids and progress tokens; backends answer in any order."""

    def __init__(self) -> None:
        super().__init__()
        self.pair: Pair = make()
        self.links: dict[str, Link] = {s: self.pair.up(s, tools("t")) for s in ("a", "b")}
        # two clients nothing can be asked of (their calls run side by side), one that can be asked
        # (its calls run alone on these legacy links)
        self.clients: list[ClientContext] = [
            self.pair.legacy(caps={}),
            self.pair.legacy(caps={}),
            self.pair.legacy(),
        ]
        self.calls: list[Call] = []
        self.finals: dict[int, list[dict[str, Any]]] = {}  # id(call) -> final messages seen
        self.sent: dict[tuple[int, int], Call] = {}  # (id(link), backend id) -> the call it was sent for
        self.ids_seen: dict[int, set[int]] = {}
        self.next_client_id = 0
        self._absorb()

    def _absorb(self, actions: list[Any] | None = None) -> None:
        for action in self.pair.take() if actions is None else actions:
            if isinstance(action, StreamToClient):
                call = action.call
                if action.final:
                    self.finals.setdefault(id(call), []).append(action.message)
                    assert action.message["id"] == call.client_id
                elif action.message.get("method") == "notifications/progress":
                    assert action.message["params"]["progressToken"] == call.progress_token
            elif isinstance(action, SendToBackend) and action.message.get("method") == "tools/call":
                backend_id = action.message["id"]
                seen = self.ids_seen.setdefault(id(action.link), set())
                assert backend_id not in seen, "a backend id was used twice on one link"
                seen.add(backend_id)
                owner = next(c for c in self.calls if c.backend_id == backend_id and c.link is action.link)
                self.sent[id(action.link), backend_id] = owner

    def _open(self) -> list[Call]:
        return [c for c in self.calls if not c.done]

    def _sent(self) -> list[Call]:
        """Open calls a backend has (not those waiting in line)."""
        return [c for c in self._open() if c.link is not None and c.link.pending.get(c.backend_id) is c]

    @rule(client=st.integers(0, 2), server=st.sampled_from(["a", "b"]), token=st.sampled_from([None, 1, "t"]))
    def call(self, client: int, server: str, token: object) -> None:
        params: dict[str, Any] = {"name": f"{server}__t"}
        if token is not None:
            params["_meta"] = {"progressToken": token}
        request_id = self.next_client_id % 3  # ids collide across clients on purpose
        self.next_client_id += 1
        reply = self.pair.send(
            self.clients[client],
            {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params},
        )
        self.calls.append(reply.call)  # type: ignore[union-attr]
        self._absorb()

    @precondition(lambda self: bool(self._sent()))
    @rule(pick=st.integers(0, 1000), error=st.booleans())
    def answer(self, pick: int, error: bool) -> None:
        waiting = self._sent()
        call = waiting[pick % len(waiting)]
        assert call.link is not None
        body = {"error": {"code": -1, "message": "no"}} if error else {"result": {"for": call.backend_id}}
        self._absorb(self.pair.from_backend(call.link, {"jsonrpc": "2.0", "id": call.backend_id, **body}))
        [answer] = self.finals[id(call)]
        if not error:
            assert answer["result"] == {"for": call.backend_id}

    @precondition(lambda self: bool(self._sent()))
    @rule(pick=st.integers(0, 1000))
    def progress(self, pick: int) -> None:
        waiting = [c for c in self._sent() if c.progress_token is not None]
        if not waiting:
            return
        call = waiting[pick % len(waiting)]
        assert call.link is not None
        note = {
            "jsonrpc": "2.0",
            "method": "notifications/progress",
            "params": {"progressToken": call.backend_id},
        }
        self._absorb(self.pair.from_backend(call.link, note))

    @precondition(lambda self: bool(self._open()))
    @rule(pick=st.integers(0, 1000))
    def cancel(self, pick: int) -> None:
        open_calls = self._open()
        self.pair.router.cancel(open_calls[pick % len(open_calls)], "the client went away", self.pair.now)
        self._absorb()

    @rule(server=st.sampled_from(["a", "b"]))
    def restart(self, server: str) -> None:
        self.pair.router.backends.link_down(self.links[server], "killed", self.pair.now)
        self.links[server] = self.pair.up(server, tools("t"))
        self._absorb()

    @rule(seconds=st.sampled_from([1.0, 30.0, 61.0]))
    def tick(self, seconds: float) -> None:
        self._absorb(self.pair.tick(seconds))

    @rule(pick=st.integers(0, 1000))
    def late_answer(self, pick: int) -> None:
        """An answer for an id whose call is over changes nothing."""
        if not self.sent:
            return
        (_, backend_id), call = list(self.sent.items())[pick % len(self.sent)]
        if not call.done or call.link is None:
            return
        before = {k: list(v) for k, v in self.finals.items()}
        self._absorb(self.pair.from_backend(call.link, {"jsonrpc": "2.0", "id": backend_id, "result": {}}))
        assert self.finals == before

    @invariant()
    def each_call_ends_at_most_once(self) -> None:
        for call in self.calls:
            assert len(self.finals.get(id(call), [])) == (1 if call.done else 0)

    @invariant()
    def a_call_that_may_be_asked_about_runs_alone(self) -> None:
        """Beside it run only calls nothing can be asked about: clients without the capabilities,
        tools that ran alone and never asked."""
        asker = self.clients[2]
        for link in self.links.values():
            quiet = self.pair.router.servers[link.server].quiet
            askable = [c for c in link.pending.values() if c.ctx is asker and c.name not in quiet]
            assert len(askable) <= 1

    @invariant()
    def nothing_pending_is_over(self) -> None:
        for link in self.links.values():
            assert all(not c.done for c in link.pending.values())
        assert all(not c.done for c in self.pair.router.calls.live)

    def teardown(self) -> None:
        for call in self._open():
            self.pair.router.cancel(call, "the end", self.pair.now)
        self._absorb()
        assert all(len(self.finals[id(c)]) == 1 for c in self.calls)
        assert not self.pair.router.calls.live
        assert all(not link.pending for link in self.links.values())


TestInterleavings = Interleavings.TestCase
TestInterleavings.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
