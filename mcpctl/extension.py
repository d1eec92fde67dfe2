"""How optional parts (auth, audit, limits, metrics) plug into the host without editing it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from mcpctl.audit.api import AuditRecorder, NullRecorder
from mcpctl.edge.asgi import ASGIApp
from mcpctl.router.hooks import CallHooks
from mcpctl.tasks import Service

if TYPE_CHECKING:
    from mcpctl.audit.redact import KnownSecrets
    from mcpctl.config.models import Config
    from mcpctl.edge.status import HostStatus
    from mcpctl.fleet.node import FleetNode
    from mcpctl.paths import Paths
    from mcpctl.router.context import Principal


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
    # the audit recorder this part provides (the audit part): the parts built after it record through it
    recorder: AuditRecorder | None = None
    # in a fleet, the shared rate-limit buckets a call takes: (principal, method, server, name) ->
    # [(key, interval in us, burst)], taken on each request's one round trip to the store
    shared_buckets: Callable[[str, str, str, str], list[tuple[str, int, int]]] | None = None


@dataclass(frozen=True)
class PartContext:
    """Everything a part may use while it is built; a part never sees the host itself."""

    config: Config
    paths: Paths
    # the secret values resolved for servers (the secrets layer adds to them, writers scrub them)
    secrets: KnownSecrets
    fleet: FleetNode | None
    status: HostStatus
    # ends the standalone streams (GET, /sse) of the sessions whose principal this says yes to
    end_streams: Callable[[Callable[[Principal], bool]], None]
    # every part's collectors, filled as parts are built (the metrics part reads them at scrape time)
    collectors: Sequence[MetricsSource]
    # the audit part's recorder, for the parts built after it (before it, and without it: a no-op)
    audit: AuditRecorder = field(default_factory=NullRecorder)


Builder = Callable[[PartContext], Extension]
"""Builds one part; the host builds them in order and hands each the context as it stands."""
