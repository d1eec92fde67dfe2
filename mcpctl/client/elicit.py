"""Answering elicitation: a form on the terminal, the form's defaults (--yes), or a clear refusal."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar
from urllib.parse import urlparse

from mcpctl.client.errors import InputError
from mcpctl.client.form import Field, default_content, fields_of

T = TypeVar("T")


class Terminal(Protocol):
    """Where a person answers: lines out (stderr), lines in (None on end of input)."""

    def write(self, text: str) -> None: ...

    def read_line(self, prompt: str) -> str | None: ...


Pause = Callable[[], contextlib.AbstractContextManager[None]]


@contextlib.contextmanager
def _no_pause() -> Iterator[None]:
    yield


class TerminalElicitor:
    """Shows the form on the terminal and lets the person accept, decline or cancel."""

    def __init__(
        self, terminal: Terminal, pause: Pause = _no_pause, open_url: Callable[[str], object] | None = None
    ) -> None:
        self._terminal = terminal
        self._pause = pause
        self._open_url = open_url

    async def elicit(self, server: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._pause():
            # input() blocks: it runs on a daemon thread so Ctrl-C can still end the command.
            return await in_daemon_thread(self._ask, server, params)

    def _ask(self, server: str, params: dict[str, Any]) -> dict[str, Any]:
        message = params.get("message")
        self._terminal.write(
            f"\n? {server} asks: {message if isinstance(message, str) else '(no message)'}\n"
        )
        if params.get("mode") == "url":
            return self._ask_url(params)
        content: dict[str, Any] = {}
        for field in fields_of(params.get("requestedSchema")):
            value = self._ask_field(field)
            if value is _CANCEL:
                return {"action": "cancel"}
            if value is not _OMIT:
                content[field.name] = value
        while True:
            answer = self._terminal.read_line("  send these answers? [Y]es / [n]o, decline / [c]ancel: ")
            choice = answer.strip().lower()[:1] if answer is not None else "c"
            if choice in ("", "y"):
                return {"action": "accept", "content": content}
            if choice == "n":
                return {"action": "decline"}
            if choice == "c":
                return {"action": "cancel"}

    def _ask_field(self, field: Field) -> Any:
        label = f"  {field.title}" + (f" — {field.description}" if field.description else "")
        notes = [field.describe_type(), "required" if field.required else "optional"]
        if field.has_default:
            notes.append(f"default {field.default!r}")
        self._terminal.write(f"{label} ({', '.join(notes)})\n")
        for index, choice in enumerate(field.choices(), start=1):
            self._terminal.write(f"     {index}. {choice.title}\n")
        while True:
            text = self._terminal.read_line("  > ")
            if text is None:
                return _CANCEL
            if not text.strip():
                if field.has_default:
                    return field.default
                if not field.required:
                    return _OMIT
                self._terminal.write("    this field is required\n")
                continue
            try:
                return field.parse(text)
            except ValueError as exc:
                self._terminal.write(f"    {exc}\n")

    def _ask_url(self, params: dict[str, Any]) -> dict[str, Any]:
        url = str(params.get("url", ""))
        self._terminal.write(
            f"  it asks you to open {url}\n  (site: {urlparse(url).hostname or 'unknown'})\n"
        )
        while True:
            answer = self._terminal.read_line("  open it? [y]es / [n]o, decline / [c]ancel: ")
            choice = answer.strip().lower()[:1] if answer is not None else "c"
            if choice == "y":
                if self._open_url is not None:
                    self._open_url(url)
                return {"action": "accept"}
            if choice == "n":
                return {"action": "decline"}
            if choice == "c":
                return {"action": "cancel"}


class DefaultsElicitor:
    """--yes: accept every form with its defaults, without asking (URLs are never opened)."""

    async def elicit(self, server: str, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("mode") == "url":
            raise InputError(
                f"{server} asks you to open {params.get('url')}, which --yes does not do for you",
                hint="run the command in a terminal to answer it",
            )
        try:
            return {"action": "accept", "content": default_content(params.get("requestedSchema"))}
        except ValueError as exc:
            raise InputError(
                f"{server} asked: {params.get('message')!r}; --yes cannot answer it: {exc}",
                hint="run the command in a terminal to answer the form",
            ) from None


class RefusingElicitor:
    """--no-input (or no terminal): fail clearly instead of waiting for an answer."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    async def elicit(self, server: str, params: dict[str, Any]) -> dict[str, Any]:
        raise InputError(
            f"{server} asked for input ({params.get('message')!r}), but {self._reason}",
            hint="run the command in a terminal to answer, or pass --yes to accept the form's defaults",
        )


class _Marker:
    pass


_OMIT = _Marker()
_CANCEL = _Marker()


async def in_daemon_thread(function: Callable[..., T], *args: Any) -> T:
    """Run a blocking function on a daemon thread: an abandoned one never delays exit."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(setter: Callable[[Any], None], value: Any) -> None:
        if not future.done():
            setter(value)

    def target() -> None:
        try:
            result = function(*args)
        except BaseException as exc:  # handed to the awaiting task, never lost
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
                loop.call_soon_threadsafe(deliver, future.set_exception, exc)
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(deliver, future.set_result, result)

    threading.Thread(target=target, name="mcpctl-prompt", daemon=True).start()
    return await future
