"""The hook chain: the first refusal wins, every hook sees every outcome, hooks added later take part."""

from __future__ import annotations

from typing import Any

from mcpctl.protocol.eras import Era
from mcpctl.protocol.jsonrpc import Message
from mcpctl.router.calls import Call
from mcpctl.router.context import ClientContext
from mcpctl.router.hooks import HookChain, NoHooks, shown


class Admitter(NoHooks):
    """Answers `admit` as told and remembers being asked; records nothing."""

    def __init__(self, log: list[str], name: str, refuse: bool = False) -> None:
        self.log, self.name, self.refuse = log, name, refuse

    def admit(
        self, ctx: ClientContext, method: str, server: str, name: str, params: dict[str, Any]
    ) -> dict[str, object] | None:
        self.log.append(f"admit:{self.name}")
        return {"code": -31003, "message": f"refused by {self.name}"} if self.refuse else None


class Finisher(NoHooks):
    """Only records outcomes."""

    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name

    def finished(self, call: Call, response: Message, outcome: str) -> None:
        self.log.append(f"finished:{self.name}:{outcome}")


class Hider(NoHooks):
    """Hides the names it was given, and counts how often it was asked."""

    def __init__(self, *hidden: str) -> None:
        self.hidden, self.asked = set(hidden), 0

    def visible(self, ctx: ClientContext, kind: str, name: str) -> bool:
        self.asked += 1
        return name not in self.hidden


TOOLS = [{"name": f"echo__t{i}"} for i in range(5)]
CTX = ClientContext(Era.MODERN, "2026-07-28", {}, {})


def admit(chain: HookChain) -> dict[str, object] | None:
    ctx = ClientContext(Era.MODERN, "2026-07-28", {}, {})
    return chain.admit(ctx, "tools/call", "echo", "echo__echo", {"name": "echo__echo"})


def test_the_first_refusal_wins_and_later_hooks_are_not_asked() -> None:
    log: list[str] = []
    chain = HookChain([Finisher(log, "audit"), Admitter(log, "policy", refuse=True), Admitter(log, "limits")])
    assert admit(chain) == {"code": -31003, "message": "refused by policy"}
    assert log == ["admit:policy"]


def test_every_hook_that_records_sees_each_outcome_in_order() -> None:
    log: list[str] = []
    chain = HookChain([Finisher(log, "audit"), Admitter(log, "limits"), Finisher(log, "metrics")])
    chain.finished(Call(None, 1, "tools/call", "echo", "echo__echo"), {"result": {}}, "ok")
    assert log == ["finished:audit:ok", "finished:metrics:ok"]


def test_hooks_added_later_take_part_after_the_earlier_ones() -> None:
    log: list[str] = []
    chain = HookChain([])
    assert admit(chain) is None
    chain.add([Admitter(log, "first")])
    assert admit(chain) is None  # (one hook that admits: the chain's admit is its own)
    chain.add([Finisher(log, "audit"), Admitter(log, "second", refuse=True)])
    assert admit(chain) == {"code": -31003, "message": "refused by second"}
    chain.finished(Call(None, 1, "tools/call", "echo", "echo__echo"), {"result": {}}, "ok")
    chain.add([Finisher(log, "metrics")])
    chain.finished(Call(None, 2, "tools/call", "echo", "echo__echo"), {"result": {}}, "error")
    assert log == [
        "admit:first",
        "admit:first",
        "admit:second",
        "finished:audit:ok",
        "finished:audit:error",
        "finished:metrics:error",
    ]


def test_a_list_shows_what_every_hook_lets_the_caller_see() -> None:
    log: list[str] = []
    chain = HookChain([Finisher(log, "audit"), Admitter(log, "limits")])
    assert shown(chain, CTX, "tools", TOOLS, "name") == TOOLS  # nothing hides: the whole list
    first, second = Hider("echo__t1"), Hider("echo__t3")
    chain.add([first])
    assert shown(chain, CTX, "tools", TOOLS, "name") == [TOOLS[0], TOOLS[2], TOOLS[3], TOOLS[4]]
    chain.add([Finisher(log, "metrics"), second])
    assert shown(chain, CTX, "tools", TOOLS, "name") == [TOOLS[0], TOOLS[2], TOOLS[4]]
    assert (first.asked, second.asked) == (10, 4)  # the second is asked only about what the first shows
    assert shown(Hider("echo__t0"), CTX, "tools", TOOLS, "name") == TOOLS[1:]  # a hook on its own
    assert shown(NoHooks(), CTX, "tools", TOOLS, "name") == TOOLS
    assert log == []
