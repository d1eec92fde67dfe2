"""What a demo server offers: tools, prompts, resources, templates and completions, by registration."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeAlias

from mcpctl.demo.content import NO_ARGUMENTS
from mcpctl.demo.wire import JsonObject

if TYPE_CHECKING:
    from mcpctl.demo.context import Context

ToolReturn: TypeAlias = str | JsonObject
ToolHandler: TypeAlias = Callable[["Context", JsonObject], Awaitable[ToolReturn]]
PromptHandler: TypeAlias = Callable[["Context", JsonObject], Awaitable[list[JsonObject] | JsonObject]]
ResourceReturn: TypeAlias = str | bytes | list[JsonObject]
ResourceHandler: TypeAlias = Callable[["Context", str], Awaitable[ResourceReturn]]
TemplateHandler: TypeAlias = Callable[["Context", str, dict[str, str]], Awaitable[ResourceReturn]]
# (ctx, ref, argument name, partial value, already-resolved arguments) -> candidate values
CompletionHandler: TypeAlias = Callable[
    ["Context", JsonObject, str, str, dict[str, str]], Awaitable[list[str]]
]


def _without_none(entry: JsonObject) -> JsonObject:
    return {key: value for key, value in entry.items() if value is not None}


@dataclasses.dataclass
class Tool:
    name: str
    description: str
    input_schema: JsonObject
    handler: ToolHandler
    output_schema: JsonObject | None = None
    title: str | None = None
    annotations: JsonObject | None = None

    def to_json(self) -> JsonObject:
        base = {"name": self.name, "description": self.description, "inputSchema": self.input_schema}
        extra = {"title": self.title, "outputSchema": self.output_schema, "annotations": self.annotations}
        return {**base, **_without_none(extra)}


@dataclasses.dataclass
class Prompt:
    name: str
    description: str
    arguments: list[JsonObject]
    handler: PromptHandler
    title: str | None = None

    def to_json(self) -> JsonObject:
        prompt = {"name": self.name, "description": self.description, "arguments": self.arguments}
        return {**prompt, **_without_none({"title": self.title})}


@dataclasses.dataclass
class Resource:
    uri: str
    name: str
    description: str
    mime_type: str
    handler: ResourceHandler

    def to_json(self) -> JsonObject:
        return {
            "uri": self.uri,
            "name": self.name,
            "description": self.description,
            "mimeType": self.mime_type,
        }


@dataclasses.dataclass
class ResourceTemplate:
    uri_template: str
    name: str
    description: str
    mime_type: str
    handler: TemplateHandler

    def __post_init__(self) -> None:
        # Level-1 RFC 6570 only: each {var} matches one non-empty path segment.
        parts = re.split(r"\{(\w+)\}", self.uri_template)
        pattern = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts))
        self._pattern = re.compile(pattern + r"\Z")

    def match(self, uri: str) -> dict[str, str] | None:
        found = self._pattern.match(uri)
        return found.groupdict() if found else None

    def to_json(self) -> JsonObject:
        return {
            "uriTemplate": self.uri_template,
            "name": self.name,
            "description": self.description,
            "mimeType": self.mime_type,
        }


class Registry:
    """Registrations, with decorators; `notify_list_changed` is the hook a server overrides."""

    def __init__(self) -> None:
        self.tools: dict[str, Tool] = {}
        self.prompts: dict[str, Prompt] = {}
        self.resources: dict[str, Resource] = {}
        self.templates: list[ResourceTemplate] = []
        self.completion_handler: CompletionHandler | None = None

    def notify_list_changed(self, kind: str) -> None:
        """Tell clients that the `kind` list changed; a bare registry has nobody to tell."""

    def tool(
        self,
        name: str,
        description: str,
        input_schema: JsonObject | None = None,
        *,
        output_schema: JsonObject | None = None,
        title: str | None = None,
        annotations: JsonObject | None = None,
    ) -> Callable[[ToolHandler], ToolHandler]:
        """Decorator: register `async def handler(ctx, arguments) -> str | CallToolResult dict`."""

        def register(handler: ToolHandler) -> ToolHandler:
            schema = NO_ARGUMENTS if input_schema is None else input_schema
            self.add_tool(
                Tool(name, description, schema, handler, output_schema, title, annotations), notify=False
            )
            return handler

        return register

    def add_tool(self, tool: Tool, *, notify: bool = True) -> None:
        self.tools[tool.name] = tool
        if notify:
            self.notify_list_changed("tools")

    def remove_tool(self, name: str, *, notify: bool = True) -> bool:
        removed = self.tools.pop(name, None) is not None
        if removed and notify:
            self.notify_list_changed("tools")
        return removed

    def prompt(
        self,
        name: str,
        description: str,
        arguments: list[JsonObject] | None = None,
        *,
        title: str | None = None,
    ) -> Callable[[PromptHandler], PromptHandler]:
        """Decorator: register `async def handler(ctx, arguments) -> messages list | GetPromptResult dict`."""

        def register(handler: PromptHandler) -> PromptHandler:
            self.add_prompt(Prompt(name, description, arguments or [], handler, title), notify=False)
            return handler

        return register

    def add_prompt(self, prompt: Prompt, *, notify: bool = True) -> None:
        self.prompts[prompt.name] = prompt
        if notify:
            self.notify_list_changed("prompts")

    def remove_prompt(self, name: str, *, notify: bool = True) -> bool:
        removed = self.prompts.pop(name, None) is not None
        if removed and notify:
            self.notify_list_changed("prompts")
        return removed

    def resource(
        self, uri: str, name: str, description: str, mime_type: str = "text/plain"
    ) -> Callable[[ResourceHandler], ResourceHandler]:
        """Decorator: register `async def handler(ctx, uri) -> str | bytes | contents list`."""

        def register(handler: ResourceHandler) -> ResourceHandler:
            self.resources[uri] = Resource(uri, name, description, mime_type, handler)
            return handler

        return register

    def resource_template(
        self, uri_template: str, name: str, description: str, mime_type: str = "text/plain"
    ) -> Callable[[TemplateHandler], TemplateHandler]:
        """Decorator: register `async def handler(ctx, uri, variables) -> str | bytes | contents list`."""

        def register(handler: TemplateHandler) -> TemplateHandler:
            self.templates.append(ResourceTemplate(uri_template, name, description, mime_type, handler))
            return handler

        return register

    def completion(self, handler: CompletionHandler) -> CompletionHandler:
        """Decorator: register the completion/complete handler."""
        self.completion_handler = handler
        return handler

    def capabilities(self) -> JsonObject:
        """Server capabilities implied by what is registered."""
        caps: JsonObject = {"logging": {}}
        if self.tools:
            caps["tools"] = {"listChanged": True}
        if self.prompts:
            caps["prompts"] = {"listChanged": True}
        if self.resources or self.templates:
            caps["resources"] = {"subscribe": True, "listChanged": True}
        if self.completion_handler is not None:
            caps["completions"] = {}
        return caps
