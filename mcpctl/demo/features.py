"""The methods both eras share: paged lists, tools/call, prompts/get, resources/read, completion."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

from mcpctl.demo.content import argument_problems, text_result
from mcpctl.demo.errors import McpError, ToolError
from mcpctl.demo.wire import (
    INVALID_PARAMS,
    LEGACY_RESOURCE_NOT_FOUND,
    METHOD_NOT_FOUND,
    MODERN,
    JsonObject,
)

if TYPE_CHECKING:
    from mcpctl.demo.context import Context

MAX_COMPLETIONS = 100  # the spec caps completion values at 100 per response


def page(ctx: Context, key: str, items: list[JsonObject]) -> JsonObject:
    """One page of `items` from the request's cursor (the server's page_size; 0 means no paging)."""
    start = 0
    cursor = ctx.request.params.get("cursor")
    if cursor is not None:
        try:
            start = int(base64.urlsafe_b64decode(str(cursor).encode()).decode())
        except (binascii.Error, ValueError) as exc:
            raise McpError(INVALID_PARAMS, f"Invalid params: bad cursor {cursor!r}") from exc
        if not 0 <= start <= len(items):
            raise McpError(INVALID_PARAMS, f"Invalid params: cursor {cursor!r} is out of range")
    size = ctx.server.page_size
    if size <= 0:
        return {key: items[start:]}
    end = start + size
    result: JsonObject = {key: items[start:end]}
    if end < len(items):
        result["nextCursor"] = base64.urlsafe_b64encode(str(end).encode()).decode()
    return result


def resource_not_found(ctx: Context, uri: str) -> McpError:
    """The error for an unknown resource URI, with the code the request's era expects."""
    code = INVALID_PARAMS if ctx.era is MODERN else LEGACY_RESOURCE_NOT_FOUND
    return McpError(code, f"Resource not found: {uri}", {"uri": uri})


def _arguments(ctx: Context) -> JsonObject:
    arguments = ctx.request.params.get("arguments") or {}
    if not isinstance(arguments, dict):
        raise McpError(INVALID_PARAMS, "Invalid params: arguments must be an object")
    return arguments


async def list_tools(ctx: Context) -> JsonObject:
    return page(ctx, "tools", [tool.to_json() for tool in ctx.server.tools.values()])


async def call_tool(ctx: Context) -> JsonObject:
    name = ctx.request.params.get("name")
    tool = ctx.server.tools.get(name) if isinstance(name, str) else None
    if tool is None:
        raise McpError(INVALID_PARAMS, f"Unknown tool: {name}")
    arguments = _arguments(ctx)
    problems = argument_problems(tool.input_schema, arguments)
    if problems:  # input validation errors are tool execution errors (SEP-1303)
        return text_result(f"Invalid arguments for {name}: {'; '.join(problems)}", is_error=True)
    try:
        outcome = await tool.handler(ctx, arguments)
    except ToolError as error:
        return text_result(str(error), is_error=True)
    return text_result(outcome) if isinstance(outcome, str) else outcome


async def list_prompts(ctx: Context) -> JsonObject:
    return page(ctx, "prompts", [prompt.to_json() for prompt in ctx.server.prompts.values()])


async def get_prompt(ctx: Context) -> JsonObject:
    name = ctx.request.params.get("name")
    prompt = ctx.server.prompts.get(name) if isinstance(name, str) else None
    if prompt is None:
        raise McpError(INVALID_PARAMS, f"Unknown prompt: {name}")
    arguments = _arguments(ctx)
    missing = [a["name"] for a in prompt.arguments if a.get("required") and a["name"] not in arguments]
    if missing:
        raise McpError(INVALID_PARAMS, f"Missing required prompt arguments: {', '.join(missing)}")
    outcome = await prompt.handler(ctx, arguments)
    return {"messages": outcome} if isinstance(outcome, list) else outcome


async def list_resources(ctx: Context) -> JsonObject:
    return page(ctx, "resources", [resource.to_json() for resource in ctx.server.resources.values()])


async def list_templates(ctx: Context) -> JsonObject:
    return page(ctx, "resourceTemplates", [template.to_json() for template in ctx.server.templates])


async def read_resource(ctx: Context) -> JsonObject:
    uri = ctx.request.params.get("uri")
    if not isinstance(uri, str):
        raise McpError(INVALID_PARAMS, "Invalid params: resources/read needs a uri string")
    server = ctx.server
    if uri in server.resources:
        resource = server.resources[uri]
        mime_type, outcome = resource.mime_type, await resource.handler(ctx, uri)
    else:
        for template in server.templates:
            variables = template.match(uri)
            if variables is not None:
                mime_type, outcome = template.mime_type, await template.handler(ctx, uri, variables)
                break
        else:
            raise resource_not_found(ctx, uri)
    if isinstance(outcome, list):
        return {"contents": outcome}
    content: JsonObject = {"uri": uri, "mimeType": mime_type}
    if isinstance(outcome, bytes):
        content["blob"] = base64.b64encode(outcome).decode()
    else:
        content["text"] = outcome
    return {"contents": [content]}


async def complete(ctx: Context) -> JsonObject:
    params = ctx.request.params
    ref, argument = params.get("ref"), params.get("argument")
    if not isinstance(ref, dict) or ref.get("type") not in ("ref/prompt", "ref/resource"):
        raise McpError(INVALID_PARAMS, "Invalid params: ref must be a ref/prompt or ref/resource object")
    if not isinstance(argument, dict) or not isinstance(argument.get("name"), str):
        raise McpError(INVALID_PARAMS, "Invalid params: argument must have a name")
    context = params.get("context")
    resolved = context.get("arguments", {}) if isinstance(context, dict) else {}
    handler = ctx.server.completion_handler
    if handler is None:  # unreachable: knows() admits the method only with a handler
        raise McpError(METHOD_NOT_FOUND, "Method not found: completion/complete")
    values = await handler(ctx, ref, argument["name"], str(argument.get("value", "")), resolved)
    more = len(values) > MAX_COMPLETIONS
    return {"completion": {"values": values[:MAX_COMPLETIONS], "total": len(values), "hasMore": more}}
