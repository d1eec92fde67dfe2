"""How optional parts (auth, audit, limits, metrics) plug into the host without editing it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from mcpctl.edge.asgi import ASGIApp
from mcpctl.gateway.hooks import CallHooks

if TYPE_CHECKING:
    from mcpctl.host import Host


class Service(Protocol):
    """Something with a lifetime tied to the host's (a writer task, a JWKS refresher)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class Extension:
    """What one part contributes; the host composes them in a fixed order."""

    hooks: list[CallHooks] = field(default_factory=list)
    # ASGI layers, outermost first; each wraps the app (app -> app)
    layers: list[Callable[[ASGIApp], ASGIApp]] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    # expands secret references (`${keyring:NAME}`) in a server's env and header values
    resolve: Callable[[str, str], str] | None = None


Builder = Callable[["Host"], Extension]
"""Builds one part from the host; parts built earlier can be found on `host` (e.g. `host.audit`)."""
