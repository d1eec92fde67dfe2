"""The bundled demo MCP server (stdio, both eras): echo, add, now, notes and a countdown with progress."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime

from mcpctl import __version__
from mcpctl.demo import (
    Context,
    JsonObject,
    Server,
    ToolError,
    arg_parser,
    object_schema,
    resource_not_found,
    user_message,
)

INSTRUCTIONS = (
    "A demo server bundled with mcpctl, so you can try it with nothing else installed. "
    "Call `echo` or `add` to see a round trip, `now` for the time in any IANA time zone, "
    "`note_add` and `note_list` for a tiny in-memory notebook (also readable as demo://notes), "
    "and `countdown` to watch progress notifications. Replace it with your own servers in mcpctl.toml."
)
ABOUT = """# mcpctl demo server

This server ships with mcpctl and runs when `mcpctl serve` finds no configuration.

- Tools: echo, add, now, note_add, note_list, countdown
- Prompt: summarize_notes
- Resources: demo://about (this text), demo://notes, and the template demo://notes/{id}

To serve your own servers instead, write mcpctl.toml (`mcpctl config path` shows where), or
import a Claude Desktop / Cursor / VS Code file with `mcpctl config import FILE`.
"""
STYLES = ("bullet points", "one paragraph", "a haiku", "a table")
READ_ONLY: JsonObject = {"readOnlyHint": True, "openWorldHint": False}
MAX_NOTE_CHARS = 10_000
MAX_NOTES = 1_000  # the notebook lives in memory: keep a runaway client from growing it forever


@dataclasses.dataclass
class Note:
    id: int
    text: str
    created: str

    def to_json(self) -> JsonObject:
        return {"id": self.id, "text": self.text, "created": self.created}


class Notebook:
    """Notes kept in memory for the life of the process (a restart forgets them, by design)."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._notes: dict[int, Note] = {}
        self._next_id = 1

    def add(self, text: str) -> Note:
        if len(self._notes) >= MAX_NOTES:
            raise ToolError(f"the notebook is full ({MAX_NOTES} notes); restart the server to empty it")
        note = Note(self._next_id, text, self._clock().isoformat(timespec="seconds"))
        self._notes[note.id] = note
        self._next_id += 1
        return note

    def get(self, note_id: int) -> Note | None:
        return self._notes.get(note_id)

    def all(self) -> list[Note]:
        return list(self._notes.values())


def utc_now() -> datetime:
    return datetime.now(UTC)


def local_time(zone_name: str, clock: Callable[[], datetime]) -> datetime:
    """The current time in an IANA zone; ToolError with a fix when the name is unknown."""
    if zone_name.upper() in ("UTC", "Z"):
        return clock().astimezone(UTC)  # works even without a time zone database
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # only `now` needs it: keep start-up lean

    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ToolError(
            f"unknown time zone {zone_name!r}: use an IANA name such as Europe/Paris, America/New_York or UTC"
        ) from exc
    return clock().astimezone(zone)


def build_tools(server: Server, notebook: Notebook, clock: Callable[[], datetime]) -> None:
    @server.tool(
        "echo",
        "Return `message` unchanged: the smallest possible round trip.",
        object_schema({"message": {"type": "string", "description": "Any text"}}),
        title="Echo",
        annotations=READ_ONLY,
    )
    async def echo(ctx: Context, args: JsonObject) -> str:
        return str(args["message"])

    @server.tool(
        "add",
        "Add two numbers; the sum comes back as text and as structured content.",
        object_schema({"a": "number", "b": "number"}),
        output_schema=object_schema({"sum": "number"}),
        title="Add",
        annotations=READ_ONLY,
    )
    async def add(ctx: Context, args: JsonObject) -> JsonObject:
        total = args["a"] + args["b"]
        return {"content": [{"type": "text", "text": str(total)}], "structuredContent": {"sum": total}}

    time_schema = object_schema(
        {"iso": "string", "timezone": "string", "weekday": "string", "utc_offset": "string"}
    )

    @server.tool(
        "now",
        "The current date and time in a time zone (an IANA name such as Europe/Paris; default UTC).",
        object_schema(optional={"timezone": {"type": "string", "default": "UTC"}}),
        output_schema=time_schema,
        title="Current time",
        annotations=READ_ONLY,
    )
    async def now(ctx: Context, args: JsonObject) -> JsonObject:
        zone_name = str(args.get("timezone") or "UTC")
        moment = local_time(zone_name, clock)
        offset = moment.strftime("%z")
        info = {
            "iso": moment.isoformat(timespec="seconds"),
            "timezone": zone_name,
            "weekday": moment.strftime("%A"),
            "utc_offset": f"{offset[:3]}:{offset[3:]}" if offset else "+00:00",
        }
        text = f"{info['iso']} ({info['weekday']}, {zone_name})"
        return {"content": [{"type": "text", "text": text}], "structuredContent": info}

    @server.tool(
        "note_add",
        "Save a short note in the server's in-memory notebook; returns its id.",
        object_schema({"text": {"type": "string", "description": "The note", "maxLength": MAX_NOTE_CHARS}}),
        title="Add a note",
        annotations={"readOnlyHint": False, "idempotentHint": False, "openWorldHint": False},
    )
    async def note_add(ctx: Context, args: JsonObject) -> str:
        text = str(args["text"]).strip()
        if not text:
            raise ToolError("a note needs some text")
        if len(text) > MAX_NOTE_CHARS:
            raise ToolError(f"a note holds at most {MAX_NOTE_CHARS} characters")
        note = notebook.add(text)
        ctx.log("info", f"saved note {note.id}", logger="notes")
        server.notify_resource_updated("demo://notes")
        return f"saved note {note.id}"

    @server.tool(
        "note_list",
        "List every saved note (id, time and text), oldest first.",
        title="List notes",
        annotations=READ_ONLY,
    )
    async def note_list(ctx: Context, args: JsonObject) -> JsonObject:
        notes = notebook.all()
        lines = [f"{n.id}. [{n.created}] {n.text}" for n in notes] or ["(no notes yet: try note_add)"]
        return {
            "content": [{"type": "text", "text": "\n".join(lines)}],
            "structuredContent": {"notes": [n.to_json() for n in notes]},
        }

    countdown_schema = object_schema(
        optional={
            "count": {"type": "integer", "minimum": 1, "maximum": 60, "default": 3},
            "interval": {"type": "number", "minimum": 0, "maximum": 10, "default": 1.0},
        }
    )

    @server.tool(
        "countdown",
        "Count down from `count`, one step every `interval` seconds, sending a progress "
        "notification per step (pass a progressToken to see them); cancellable.",
        countdown_schema,
        title="Countdown",
        annotations=READ_ONLY,
    )
    async def countdown(ctx: Context, args: JsonObject) -> str:
        count, interval = int(args.get("count", 3)), float(args.get("interval", 1.0))
        if not 1 <= count <= 60 or not 0 <= interval <= 10:
            raise ToolError("count must be 1..60 and interval 0..10 seconds")
        for step in range(1, count + 1):
            # Cancellation (notifications/cancelled) lands here as CancelledError: no response is sent.
            await asyncio.sleep(interval)
            ctx.progress(step, count, f"{count - step}…" if step < count else "liftoff")
        return f"counted down from {count}: liftoff!"


def build_resources(server: Server, notebook: Notebook) -> None:
    @server.resource(
        "demo://about", "about", "What this demo server offers and how to replace it.", "text/markdown"
    )
    async def about(ctx: Context, uri: str) -> str:
        return ABOUT

    @server.resource("demo://notes", "notes", "Every note in the notebook, as JSON.", "application/json")
    async def notes(ctx: Context, uri: str) -> str:
        return json.dumps([note.to_json() for note in notebook.all()], ensure_ascii=False)

    @server.resource_template("demo://notes/{id}", "note", "One note by its id, as plain text.")
    async def note(ctx: Context, uri: str, variables: dict[str, str]) -> str:
        found = notebook.get(int(variables["id"])) if variables["id"].isdigit() else None
        if found is None:
            raise resource_not_found(ctx, uri)
        return found.text

    @server.prompt(
        "summarize_notes",
        "Ask the model to summarize the notebook in a style of your choice.",
        [{"name": "style", "description": f"How to summarize: {', '.join(STYLES)}", "required": False}],
        title="Summarize my notes",
    )
    async def summarize_notes(ctx: Context, args: JsonObject) -> list[JsonObject]:
        style = str(args.get("style") or STYLES[0])
        notes = "\n".join(f"- {n.text}" for n in notebook.all()) or "- (the notebook is empty)"
        return [user_message(f"Summarize these notes as {style}:\n{notes}")]

    @server.completion
    async def complete(
        ctx: Context, ref: JsonObject, name: str, value: str, resolved: dict[str, str]
    ) -> list[str]:
        if name == "style":
            return [style for style in STYLES if style.startswith(value)]
        if name == "id":
            return [str(n.id) for n in notebook.all() if str(n.id).startswith(value)]
        return []


def build(server: Server, clock: Callable[[], datetime] = utc_now) -> Notebook:
    """Register the demo's tools, resources and prompt on `server`; returns its notebook."""
    notebook = Notebook(clock)
    build_tools(server, notebook, clock)
    build_resources(server, notebook)
    return notebook


def main() -> None:
    parser = arg_parser(
        "The mcpctl demo MCP server on stdio (both protocol eras). "
        "Tools: echo, add, now, note_add, note_list, countdown.",
        prog="python -m mcpctl.demo",
    )
    args = parser.parse_args()
    server = Server.from_args(args, name="mcpctl-demo", version=__version__, instructions=INSTRUCTIONS)
    build(server)
    server.run()


if __name__ == "__main__":
    main()
