"""What the CLI answers when a server asks something mid-request: roots, elicitation, sampling, ping."""

from __future__ import annotations

import asyncio
import json
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from mcpctl.client.errors import USER_REJECTED, InputError
from mcpctl.errors import RemoteError, UnavailableError
from mcpctl.protocol import codes


class Elicitor(Protocol):
    """Turns an elicitation/create request into an ElicitResult (accept, decline or cancel)."""

    async def elicit(self, server: str, params: dict[str, Any]) -> dict[str, Any]: ...


class Warn(Protocol):
    def __call__(self, message: str) -> None: ...


class CliAnswerer:
    """Answers server requests the same way whether they come as legacy requests or MRTR rounds."""

    def __init__(
        self,
        server: str,
        *,
        roots: Sequence[Path],
        elicitor: Elicitor,
        warn: Warn,
        sampling_command: str | None = None,
    ) -> None:
        self._server = server
        self._roots = [path.resolve() for path in roots]
        self._elicitor = elicitor
        self._warn = warn
        self._sampling_command = sampling_command
        self._lock = asyncio.Lock()  # a person answers one question at a time

    def capabilities(self) -> dict[str, Any]:
        caps: dict[str, Any] = {"roots": {}, "elicitation": {"form": {}, "url": {}}}
        if self._sampling_command:
            caps["sampling"] = {}
        return caps

    async def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "ping":
            return {}
        if method == "roots/list":
            return {"roots": [{"uri": path.as_uri(), "name": path.name or str(path)} for path in self._roots]}
        if method == "elicitation/create":
            async with self._lock:
                return await self._elicitor.elicit(self._server, params)
        if method == "sampling/createMessage":
            return await self._sample(params)
        raise RemoteError(codes.METHOD_NOT_FOUND, f"mcpctl does not answer {method}")

    async def _sample(self, params: dict[str, Any]) -> dict[str, Any]:
        if not self._sampling_command:
            self._warn(
                f"{self._server} asked for sampling (an LLM completion), which mcpctl does not do by itself; "
                "refused (pass --sampling-command CMD to answer it with a command of yours)"
            )
            raise RemoteError(USER_REJECTED, "sampling is not configured in this client (mcpctl call)")
        return await run_sampling_command(self._sampling_command, params)


async def run_sampling_command(command: str, params: dict[str, Any]) -> dict[str, Any]:
    """Pipe the CreateMessage params (JSON) into `command`; its stdout is the answer.

    JSON output is taken as the CreateMessageResult; anything else as the assistant's text.
    """
    argv = shlex.split(command)
    if not argv:
        raise InputError("--sampling-command is empty")
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise UnavailableError(f"cannot run the sampling command {argv[0]!r}: {exc.strerror}") from exc
    out, err = await proc.communicate(json.dumps(params).encode())
    if proc.returncode != 0:
        detail = err.decode(errors="replace").strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
        raise InputError(f"the sampling command failed: {detail[0]}")
    text = out.decode(errors="replace").strip()
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, dict) and "content" in value:
        value.setdefault("role", "assistant")
        value.setdefault("model", argv[0])
        return value
    return {
        "role": "assistant",
        "content": {"type": "text", "text": text},
        "model": argv[0],
        "stopReason": "endTurn",
    }
