"""The pure parts of placement = "one": who runs a server, and what a forwarded call says of its client."""

from __future__ import annotations

import pytest

from mcpctl.fleet.placement import decide, digest
from mcpctl.gateway.elsewhere import _context_entry, _context_from
from mcpctl.protocol.eras import Era
from mcpctl.router.context import ClientContext, Principal


@pytest.mark.parametrize(
    ("holder", "running", "step"),
    [
        ("me", False, "start"),  # we took the lease: start the child
        ("me", True, "keep"),  # we hold and run it
        ("other", True, "stop"),  # ours lapsed (we could not renew it) and another took it over
        ("other", False, "follow"),  # it runs there: list what it published, send its calls there
    ],
)
def test_who_runs_a_placed_server(holder: str, running: bool, step: str) -> None:
    assert decide("me", holder, running) == step


def test_a_digest_depends_on_the_lists_not_their_key_order() -> None:
    one = {"tools": [{"name": "a", "inputSchema": {"type": "object", "x": 1}}]}
    two = {"tools": [{"inputSchema": {"x": 1, "type": "object"}, "name": "a"}]}
    assert digest(one) == digest(two)
    assert digest(one) != digest({"tools": []})


def test_a_forwarded_call_carries_its_client_and_a_2025_session_is_asked_nothing_there() -> None:
    principal = Principal("alice", "oauth", frozenset({"read"}), frozenset({"devs"}), {"roles": ["x"]})
    legacy = ClientContext(
        Era.LEGACY,
        "2025-11-25",
        {"sampling": {}},
        {"name": "c"},
        principal=principal,
        log_level="debug",
        remote="10.0.0.1",
        verdicts=(0, 0),
    )
    there = _context_from(_context_entry(legacy))
    assert there is not None
    assert there.forwarded and there.session is None
    assert there.era is Era.LEGACY and there.protocol_version == "2025-11-25"
    assert there.capabilities == {}  # its questions are refused there: the session lives here
    assert there.principal == principal and there.principal.claims == {"roles": ["x"]}
    assert (there.log_level, there.remote, there.verdicts) == ("debug", "10.0.0.1", (0, 0))
    modern = ClientContext(Era.MODERN, "2026-07-28", {"elicitation": {}}, {}, principal=principal)
    again = _context_from(_context_entry(modern))
    assert again is not None and again.capabilities == {"elicitation": {}}  # asked through requestState
    assert _context_from({"e": "legacy"}) is None  # not ours: dropped
