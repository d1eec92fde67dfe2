"""A stdlib-only stdio MCP server toolkit for both protocol eras; `python -m mcpctl.demo` runs the demo."""

from mcpctl.demo.content import (
    NO_ARGUMENTS,
    argument_problems,
    object_schema,
    sampled_text,
    text,
    text_result,
    user_message,
)
from mcpctl.demo.context import Context
from mcpctl.demo.errors import InputRequired, McpError, MissingCapabilityError, ToolError
from mcpctl.demo.features import resource_not_found
from mcpctl.demo.framing import warn
from mcpctl.demo.options import arg_parser
from mcpctl.demo.registry import Prompt, Resource, ResourceTemplate, Tool
from mcpctl.demo.server import Server
from mcpctl.demo.wire import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    LEGACY_VERSIONS,
    LOG_LEVELS,
    METHOD_NOT_FOUND,
    MODERN_VERSIONS,
    Era,
    JsonObject,
    Request,
)

__all__ = [
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "LEGACY_VERSIONS",
    "LOG_LEVELS",
    "METHOD_NOT_FOUND",
    "MODERN_VERSIONS",
    "NO_ARGUMENTS",
    "Context",
    "Era",
    "InputRequired",
    "JsonObject",
    "McpError",
    "MissingCapabilityError",
    "Prompt",
    "Request",
    "Resource",
    "ResourceTemplate",
    "Server",
    "Tool",
    "ToolError",
    "arg_parser",
    "argument_problems",
    "object_schema",
    "resource_not_found",
    "sampled_text",
    "text",
    "text_result",
    "user_message",
    "warn",
]
