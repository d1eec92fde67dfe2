"""Which client capability a server->client request needs, and whether a client declared it."""

from __future__ import annotations

from typing import Any, Final

# server->client request method -> the client capability it needs
NEEDS: Final = {
    "sampling/createMessage": "sampling",
    "elicitation/create": "elicitation",
    "roots/list": "roots",
}


def needed(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """The capability object a client must have declared to be asked this (for -32021's data)."""
    name = NEEDS.get(method)
    if name is None:
        return {}
    if name == "sampling" and "tools" in params:
        return {"sampling": {"tools": {}}}
    if name == "elicitation" and params.get("mode") == "url":
        return {"elicitation": {"url": {}}}
    return {name: {}}


def declares(capabilities: dict[str, Any], method: str, params: dict[str, Any]) -> bool:
    """Whether a client that declared `capabilities` can be asked `method` with `params`.

    Sampling with tools needs `sampling.tools`; a URL elicitation needs `elicitation.url`; a form
    elicitation needs `elicitation.form`, or an empty `elicitation` (which means form only).
    """
    name = NEEDS.get(method)
    declared = capabilities.get(name) if name else None
    if not isinstance(declared, dict):
        return False
    if name == "sampling" and "tools" in params:
        return isinstance(declared.get("tools"), dict)
    if name == "elicitation":
        if params.get("mode") == "url":
            return isinstance(declared.get("url"), dict)
        return not declared or isinstance(declared.get("form"), dict)
    return True


def can_be_asked(capabilities: dict[str, Any]) -> bool:
    """Whether a client declared anything a server could ask it for."""
    return any(isinstance(capabilities.get(name), dict) for name in NEEDS.values())
