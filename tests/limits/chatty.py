"""Chatty test server: a tool that logs every `every` seconds for `seconds` but never reports progress."""

from __future__ import annotations

import asyncio

from mcpctl.demo import Context, JsonObject, Server, arg_parser, object_schema


def main() -> None:
    server = Server.from_args(arg_parser(__doc__).parse_args(), name="chatty")

    @server.tool(
        "chatter",
        "Log at info every `every` seconds for `seconds`, then return.",
        object_schema({"seconds": "number", "every": "number"}),
    )
    async def chatter(ctx: Context, args: JsonObject) -> str:
        loop = asyncio.get_running_loop()
        end = loop.time() + float(args["seconds"])
        while loop.time() < end:
            ctx.log("info", "still busy, no progress to report", logger="chatty")
            await asyncio.sleep(float(args["every"]))
        return "done"

    server.run()


if __name__ == "__main__":
    main()
