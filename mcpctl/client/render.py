"""Showing results: text plainly, JSON pretty, images and audio saved to files, links listed."""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol


class Output(Protocol):
    """The part of cli.console.Console that results are printed through."""

    def data(self, text: str) -> None: ...

    def json(self, value: Any) -> None: ...


class Renderer:
    """Prints MCP content for a person; binary content goes to files under `save_dir`."""

    def __init__(
        self, out: Output, save_dir: Path, stem: str, clock: Callable[[], float] = time.time
    ) -> None:
        self._out = out
        self._save_dir = save_dir
        self._stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-.") or "output"
        self._clock = clock
        self.saved: list[Path] = []

    def tool_result(self, result: dict[str, Any]) -> None:
        """The content, for a person; structured content only when there is no content to show
        (servers send it alongside its own text rendition: showing both prints everything twice).
        `--json` prints the raw result, structured content included."""
        blocks = _blocks(result.get("content"))
        for block in blocks:
            self.block(block)
        if not blocks and "structuredContent" in result:
            self._out.json(result["structuredContent"])

    def prompt_result(self, result: dict[str, Any]) -> None:
        description = result.get("description")
        if isinstance(description, str) and description:
            self._out.data(f"# {description}")
        messages = result.get("messages")
        for message in messages if isinstance(messages, list) else []:
            if not isinstance(message, dict):
                continue
            self._out.data(f"[{message.get('role', '?')}]")
            content = message.get("content")
            for block in content if isinstance(content, list) else [content]:
                if isinstance(block, dict):
                    self.block(block)

    def read_result(self, result: dict[str, Any]) -> None:
        contents = result.get("contents")
        items = [item for item in contents if isinstance(item, dict)] if isinstance(contents, list) else []
        for item in items:
            self._resource(item, header=len(items) > 1)

    def block(self, block: dict[str, Any]) -> None:
        kind = block.get("type")
        if kind == "text":
            self._text(str(block.get("text", "")))
        elif kind in ("image", "audio"):
            path = self._save(block.get("data"), block.get("mimeType"))
            self._out.data(f"[{kind} saved to {path} ({block.get('mimeType', 'unknown type')})]")
        elif kind == "resource_link":
            self._out.data(_describe_link(block))
        elif kind == "resource" and isinstance(block.get("resource"), dict):
            self._resource(block["resource"], header=True)
        else:
            self._out.json(block)

    def _resource(self, item: dict[str, Any], *, header: bool) -> None:
        uri, mime = item.get("uri", "?"), item.get("mimeType")
        kind = f" ({mime})" if isinstance(mime, str) else ""
        if "blob" in item:
            path = self._save(item.get("blob"), mime)
            self._out.data(f"[resource {uri}{kind} saved to {path}]")
            return
        if header:
            self._out.data(f"[resource {uri}{kind}]")
        self._text(str(item.get("text", "")))

    def _text(self, text: str) -> None:
        stripped = text.strip()
        if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
            try:
                value = json.loads(stripped)
            except ValueError:
                pass
            else:
                self._out.json(value)
                return
        self._out.data(text)

    def _save(self, data: object, mime: object) -> Path:
        try:
            raw = base64.b64decode(data if isinstance(data, str) else "", validate=False)
        except (binascii.Error, ValueError):
            raw = b""
        ext = _extension(mime)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self._clock()))
        self._save_dir.mkdir(parents=True, exist_ok=True)
        index = len(self.saved) + 1
        path = self._save_dir / f"{self._stem}-{stamp}-{index}{ext}"
        while path.exists():
            index += 1
            path = self._save_dir / f"{self._stem}-{stamp}-{index}{ext}"
        path.write_bytes(raw)
        self.saved.append(path)
        return path


# What mimetypes may not know on every system (its table comes from the OS's mime.types).
_EXTENSIONS = {
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/ogg": ".ogg",
    "audio/webm": ".weba",
    "audio/flac": ".flac",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/svg+xml": ".svg",
    "application/json": ".json",
    "text/plain": ".txt",
    "application/pdf": ".pdf",
    "application/gzip": ".gz",
}


def _extension(mime: object) -> str:
    if not isinstance(mime, str):
        return ".bin"
    base = mime.split(";")[0].strip().lower()
    return _EXTENSIONS.get(base) or mimetypes.guess_extension(base) or ".bin"


def show_tool_result(
    result: dict[str, Any], out: Output, tool: str, *, as_json: bool, save_dir: Path
) -> None:
    """A tools/call result on stdout: raw with --json, else for a person; ToolError (exit 1) when the
    tool reported isError (its message on stderr when it is all text)."""
    from mcpctl.client.errors import ToolError

    failed = result.get("isError") is True
    if as_json:
        out.json(result)
        if failed:
            raise ToolError(f"{tool} reported an error (isError)")
        return
    if failed:
        text = error_text(result)
        if text is not None:
            raise ToolError(text)
    Renderer(out, save_dir, tool).tool_result(result)
    if failed:
        raise ToolError(f"{tool} reported an error (isError)")


def error_text(result: dict[str, Any]) -> str | None:
    """The message of an isError result when it is all text (else None: render it instead)."""
    blocks = _blocks(result.get("content"))
    if not blocks or any(b.get("type") != "text" for b in blocks):
        return None
    return "\n".join(str(b.get("text", "")) for b in blocks).strip() or None


def _blocks(content: object) -> list[dict[str, Any]]:
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _describe_link(block: dict[str, Any]) -> str:
    details = [str(block[key]) for key in ("name", "mimeType") if isinstance(block.get(key), str)]
    description = block.get("description")
    text = f"[link {block.get('uri', '?')}" + (f" ({', '.join(details)})" if details else "") + "]"
    return text + (f" {description}" if isinstance(description, str) and description else "")
