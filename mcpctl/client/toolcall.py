"""What a person typed, as a tools/call request: the tool's name on the wire and its checked arguments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mcpctl.client.arguments import parse_pairs, suggest, validate
from mcpctl.client.toolcheck import header_problems
from mcpctl.errors import UsageError


@dataclass(frozen=True)
class CallRequest:
    """What the person asked for: the tool, its arguments as typed, and how to send them."""

    tool: str
    pairs: list[str]
    base: dict[str, Any]
    deadline: float  # seconds
    check: bool


class NoSuchTool(UsageError):
    """The target lists no tool by that name (a down server's tools are not listed either)."""

    def __init__(self, tool: str, where: str, close: Sequence[str], listing: str) -> None:
        self.tool = tool
        self.close = list(close)
        hint = (f"did you mean {', '.join(close)}? " if close else "") + f"`{listing}` lists them"
        super().__init__(f"no tool named {tool!r} on {where}", hint=hint)


def call_params(
    request: CallRequest,
    tools: Sequence[Mapping[str, Any]],
    names: Mapping[str, str],
    *,
    where: str,
    listing: str,
    help_command: str,
) -> dict[str, Any]:
    """The params of tools/call, or UsageError (no such tool, invalid arguments, unusable tool).

    `names` maps the names a person types to the names on the wire; `listing` and `help_command`
    are the commands the fix lines name (aimed at the same target).
    """
    by_name = {t["name"]: t for t in tools if isinstance(t.get("name"), str)}
    tool = request.tool
    wire = names.get(tool) or (tool if tool in names.values() else None)
    if wire is None:
        raise NoSuchTool(tool, where, suggest(tool, list(names)), listing)
    schema = by_name[wire].get("inputSchema")
    problems = header_problems(schema)
    if problems:
        problem = "; ".join(problems)
        raise UsageError(
            f"{tool} declares invalid x-mcp-header annotations, so mcpctl will not call it: {problem}"
        )
    arguments = {**request.base, **parse_pairs(request.pairs, schema)}
    if request.check:
        validate(arguments, schema, tool, help_command)
    return {"name": wire, "arguments": arguments}
