"""Probe fixture: a stdio server that reports what reached it (its request, its environment)."""

from __future__ import annotations

import hashlib
import json
import os
import sys

from mcpctl.demo import Context, JsonObject, McpError, Server, ToolError, arg_parser, object_schema


def build(server: Server) -> None:
    @server.tool("received", "Everything this request carried, as the backend saw it (params and _meta).")
    async def received(ctx: Context, args: JsonObject) -> str:
        return json.dumps({"method": ctx.request.method, "params": ctx.request.params}, sort_keys=True)

    @server.tool("environment", "The names and SHA-256 digests of this process's environment variables.")
    async def environment(ctx: Context, args: JsonObject) -> str:
        # digests, not values: the test compares them without the secret travelling back out
        digests = {k: hashlib.sha256(v.encode()).hexdigest() for k, v in os.environ.items()}
        return json.dumps(digests, sort_keys=True)

    @server.tool(
        "leak",
        "Careless: prints a variable on stderr, then returns it (as output, a tool error or an error).",
        object_schema(required={"name": "string"}, optional={"as": "string"}),
    )
    async def leak(ctx: Context, args: JsonObject) -> str:
        name = str(args["name"])
        value = os.environ.get(name, "")
        print(f"debug: {name}={value}", file=sys.stderr, flush=True)
        text = f"{name} is {value}"
        if args.get("as") == "tool_error":
            raise ToolError(text)
        if args.get("as") == "error":
            raise McpError(-32603, text)
        return text

    @server.tool("search_code", "Pretend to search.", object_schema(optional={"q": "string"}))
    async def search_code(ctx: Context, args: JsonObject) -> str:
        return f"found {args.get('q', '')}"

    @server.tool("delete_repo", "Pretend to delete.", object_schema(optional={"repo": "string"}))
    async def delete_repo(ctx: Context, args: JsonObject) -> str:
        return f"deleted {args.get('repo', '')}"


def main() -> None:
    args = arg_parser(__doc__).parse_args()
    server = Server.from_args(args, name="probe")
    build(server)
    server.run()


if __name__ == "__main__":
    main()
