"""How optional parts (auth, audit, limits, metrics) plug into the host without editing it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from mcpctl.edge.asgi import ASGIApp
from mcpctl.router.hooks import CallHooks
from mcpctl.tasks import Service

if TYPE_CHECKING:
    from mcpctl.host import Host


class MetricsSource(Protocol):
    """A prometheus-client custom collector: yields metric families, read at scrape time."""

    def collect(self) -> Iterable[Any]: ...


StatusFields = Callable[[str], dict[str, Any]]
"""A server's name -> fields a part adds to its status (e.g. `{"breaker": {...}}`)."""


@dataclass
class Extension:
    """What one part contributes; the host composes them in a fixed order."""

    hooks: list[CallHooks] = field(default_factory=list)
    # ASGI layers, outermost first; each wraps the app (app -> app)
    layers: list[Callable[[ASGIApp], ASGIApp]] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    # expands secret references (`${keyring:NAME}`) in a server's env and header values
    resolve: Callable[[str, str], str] | None = None
    # per-server fields for /ready, the admin API and `mcpctl servers`: states and counters only,
    # never error text (/ready is unauthenticated)
    status: list[StatusFields] = field(default_factory=list)
    # collectors the metrics part serves on /metrics (it reads them at scrape time)
    collectors: list[MetricsSource] = field(default_factory=list)


Builder = Callable[["Host"], Extension]
"""Builds one part from the host; parts built earlier can be found on `host` (e.g. `host.audit`)."""
