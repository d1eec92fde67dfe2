"""The aggregated catalog: every server's tools, prompts and resources, and the routes back to them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from mcpctl.protocol.naming import exposed_name

Entry = dict[str, Any]
Lists = dict[str, list[Entry]]  # a server's lists by kind (tools, prompts, resources, ...)
LIST_KINDS: Final = ("tools", "prompts", "resources", "resourceTemplates")
# The notification a client receives when a kind's aggregated view changed.
LIST_CHANGED: Final = {
    "tools": "notifications/tools/list_changed",
    "prompts": "notifications/prompts/list_changed",
    "resources": "notifications/resources/list_changed",
    "resourceTemplates": "notifications/resources/list_changed",
}


@dataclass(frozen=True)
class Route:
    """Where an exposed name leads: a server and the name that server knows."""

    server: str
    original: str


@dataclass
class _ServerView:
    prefix: str
    lists: dict[str, list[Entry]] = field(default_factory=dict)
    templates: list[tuple[re.Pattern[str], int]] = field(default_factory=list)


@dataclass(frozen=True)
class Collision:
    """Two servers (or two names of one server) claim the same exposed name or URI."""

    kind: str
    name: str
    kept: str
    dropped: str

    def describe(self) -> str:
        return f"{self.kind} {self.name!r}: kept from {self.kept!r}, hidden from {self.dropped!r}"


class Catalog:
    """Aggregates per-server lists into one view with stable names, in configuration order.

    Pure data: the gateway feeds it each server's lists and asks it for the combined view and
    for routes. Servers are ordered by their position in the configuration, so the combined
    lists are deterministic (clients and LLM prompt caches depend on that).
    """

    def __init__(self, order: list[str]) -> None:
        self._order = list(order)
        self._servers: dict[str, _ServerView] = {}
        self._views: dict[str, list[Entry]] = {kind: [] for kind in LIST_KINDS}
        self._tool_routes: dict[str, Route] = {}
        self._tool_entries: dict[str, Entry] = {}
        self._prompt_routes: dict[str, Route] = {}
        self._resource_routes: dict[str, str] = {}
        self.collisions: list[Collision] = []

    # -- feeding -----------------------------------------------------------------------------

    def set_server(self, server: str, prefix: str, lists: dict[str, list[Entry]]) -> set[str]:
        """Replace one server's lists; returns the kinds whose combined view changed."""
        if server not in self._order:
            self._order.append(server)
        view = _ServerView(prefix=prefix, lists={kind: list(lists.get(kind, [])) for kind in LIST_KINDS})
        view.templates = [
            (template_pattern(t["uriTemplate"]), _literal_length(t["uriTemplate"]))
            for t in view.lists["resourceTemplates"]
            if isinstance(t.get("uriTemplate"), str)
        ]
        self._servers[server] = view
        return self._rebuild()

    def remove_server(self, server: str) -> set[str]:
        """Forget a server (it stopped or is crash-looping); returns the kinds that changed."""
        if self._servers.pop(server, None) is None:
            return set()
        return self._rebuild()

    def has_server(self, server: str) -> bool:
        return server in self._servers

    # -- reading -----------------------------------------------------------------------------

    def view(self, kind: str) -> list[Entry]:
        return self._views[kind]

    def server_lists(self, server: str) -> dict[str, list[Entry]]:
        view = self._servers.get(server)
        return view.lists if view else {kind: [] for kind in LIST_KINDS}

    def route_tool(self, name: str) -> Route | None:
        return self._tool_routes.get(name)

    def tool(self, name: str) -> Entry | None:
        """The exposed tool entry (its inputSchema) by exposed name."""
        return self._tool_entries.get(name)

    def route_prompt(self, name: str) -> Route | None:
        return self._prompt_routes.get(name)

    def route_resource(self, uri: str) -> str | None:
        """The server that owns a resource URI: exact listing first, then the most specific template."""
        owner = self._resource_routes.get(uri)
        if owner is not None:
            return owner
        best: tuple[int, str] | None = None
        for server in self._ordered_servers():
            for pattern, literal in self._servers[server].templates:
                if pattern.fullmatch(uri) and (best is None or literal > best[0]):
                    best = (literal, server)
        if best is not None:
            return best[1]
        # A server that lists no resources may still serve reads (e.g. file:// paths): when only
        # one server offers resources at all, it is the only place the read can go.
        offering = [s for s in self._ordered_servers() if self._offers_resources(s)]
        return offering[0] if len(offering) == 1 else None

    def exposed_tool_name(self, server: str, original: str) -> str:
        view = self._servers.get(server)
        return exposed_name(view.prefix, original) if view else original

    # -- internals ---------------------------------------------------------------------------

    def _ordered_servers(self) -> list[str]:
        return [s for s in self._order if s in self._servers]

    def _offers_resources(self, server: str) -> bool:
        lists = self._servers[server].lists
        return bool(lists["resources"] or lists["resourceTemplates"])

    def _rebuild(self) -> set[str]:
        old = self._views
        self.collisions = []
        tools, self._tool_routes = self._named("tools")
        self._tool_entries = {entry["name"]: entry for entry in tools}
        prompts, self._prompt_routes = self._named("prompts")
        resources, self._resource_routes = self._resources()
        templates = [t for s in self._ordered_servers() for t in self._servers[s].lists["resourceTemplates"]]
        self._views = {
            "tools": tools,
            "prompts": prompts,
            "resources": resources,
            "resourceTemplates": templates,
        }
        return {kind for kind in LIST_KINDS if old[kind] != self._views[kind]}

    def _named(self, kind: str) -> tuple[list[Entry], dict[str, Route]]:
        entries: list[Entry] = []
        routes: dict[str, Route] = {}
        for server in self._ordered_servers():
            view = self._servers[server]
            for entry in view.lists[kind]:
                original = entry.get("name")
                if not isinstance(original, str):
                    continue
                name = exposed_name(view.prefix, original)
                if name in routes:
                    self.collisions.append(Collision(kind[:-1], name, routes[name].server, server))
                    continue
                routes[name] = Route(server, original)
                entries.append(entry if name == original else {**entry, "name": name})
        return entries, routes

    def _resources(self) -> tuple[list[Entry], dict[str, str]]:
        entries: list[Entry] = []
        owners: dict[str, str] = {}
        for server in self._ordered_servers():
            for entry in self._servers[server].lists["resources"]:
                uri = entry.get("uri")
                if not isinstance(uri, str):
                    continue
                if uri in owners:
                    self.collisions.append(Collision("resource", uri, owners[uri], server))
                    continue
                owners[uri] = server
                entries.append(entry)
        return entries, owners


_EXPRESSION: Final = re.compile(r"\{([^}]*)\}")


def template_pattern(template: str) -> re.Pattern[str]:
    """A regular expression matching the URIs an RFC 6570 template can expand to.

    Lenient on purpose: simple expressions match one path segment, reserved (`+`, `#`) and
    path (`/`) expansions match across segments, query forms match the rest.
    """
    parts: list[str] = []
    position = 0
    for match in _EXPRESSION.finditer(template):
        parts.append(re.escape(template[position : match.start()]))
        operator = match.group(1)[:1]
        if operator in ("+", "#", "/", "?", "&", ";", "."):
            parts.append(".*")
        else:
            parts.append("[^/?#]*")
        position = match.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts))


def _literal_length(template: str) -> int:
    return len(_EXPRESSION.sub("", template))
