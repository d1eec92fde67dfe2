"""A stdio MCP server as a child process: own process group, drained pipes, bounded shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import re
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from mcpctl.backends.base import MessageSink
from mcpctl.backends.reaper import REAPER
from mcpctl.backends.stderr import StderrLog
from mcpctl.errors import UnavailableError
from mcpctl.protocol.jsonrpc import Message, ParseError, dumps, loads, parse_message
from mcpctl.protocol.lines import LineSplitter, Oversized

# Variables a child inherits from mcpctl's environment; everything else must be named in the
# server's `env` or `inherit_env`, so secrets in the shell do not leak into every server.
ENV_ALLOW_LIST = (
    "HOME",
    "LOGNAME",
    "PATH",
    "SHELL",
    "TERM",
    "USER",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
    "TZ",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "NODE_EXTRA_CA_CERTS",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "SYSTEMROOT",
    "APPDATA",
    "LOCALAPPDATA",
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_DATA_HOME",
    "NPM_CONFIG_REGISTRY",
    "npm_config_registry",
    "npm_config_cache",
    "UV_INDEX_URL",
    "PIP_INDEX_URL",
)
# Past this many bytes queued for a child that does not read its stdin, sends fail instead of
# growing memory without bound.
MAX_STDIN_BACKLOG = 64 * 1024 * 1024
_PR_SET_PDEATHSIG = 1
# The id near the start of a response line (JSON-RPC writers put it early): enough to fail the
# one call whose response was too large to read, instead of letting it time out.
_RESPONSE_ID = re.compile(rb'^\{[^{]{0,80}?"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")')


@dataclass(frozen=True)
class StdioSpec:
    """What to run and how."""

    command: str
    args: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    inherit_env: Sequence[str] = ()
    cwd: str | None = None
    max_line_bytes: int = 32 * 1024 * 1024
    shutdown_timeout: float = 5.0
    stderr_path: Path | None = None
    # replaces known secret values in each stderr line before it is kept or written
    scrub: Callable[[str], str] | None = None


def child_environment(spec: StdioSpec, parent: Mapping[str, str]) -> dict[str, str]:
    """The allow-listed part of mcpctl's environment, plus the server's own variables."""
    names = (*ENV_ALLOW_LIST, *spec.inherit_env)
    env = {name: parent[name] for name in names if name in parent}
    env.update(spec.env)
    return env


def _set_parent_death_signal() -> None:
    """Runs in the child before exec: die with mcpctl even if mcpctl is killed with SIGKILL (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        # If mcpctl already died between fork and prctl, nobody will ever signal us.
        if os.getppid() == 1:
            os._exit(1)


class _Pipes(asyncio.SubprocessProtocol):
    """Turns pipe callbacks into lines and stderr chunks; never reads less than everything."""

    def __init__(self, owner: StdioTransport) -> None:
        self._owner = owner

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd == 1:
            self._owner._stdout(data)
        else:
            self._owner.stderr.feed(data)

    def process_exited(self) -> None:
        self._owner._exited()

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner._all_closed()


class StdioTransport:
    """One child process speaking newline-delimited JSON-RPC on stdin/stdout."""

    def __init__(self, spec: StdioSpec, sink: MessageSink, environ: Mapping[str, str] | None = None) -> None:
        self._spec = spec
        self._sink = sink
        self._environ = os.environ if environ is None else environ
        self._lines = LineSplitter(spec.max_line_bytes)
        self.stderr = StderrLog(spec.stderr_path, spec.scrub)
        self._transport: asyncio.SubprocessTransport | None = None
        self._stdin: asyncio.WriteTransport | None = None
        self._outgoing: list[bytes] = []
        self._closed = asyncio.Event()
        self._gone = False  # the process and its pipes are gone (said to the sink once)
        self.returncode: int | None = None

    @property
    def pid(self) -> int | None:
        return self._transport.get_pid() if self._transport else None

    def describe(self) -> str:
        return " ".join([self._spec.command, *self._spec.args])

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.subprocess_exec(
                lambda: _Pipes(self),
                self._spec.command,
                *self._spec.args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=child_environment(self._spec, self._environ),
                cwd=self._spec.cwd,
                # its own process group: a group signal reaches grandchildren (npx -> node) too
                start_new_session=True,
                preexec_fn=_set_parent_death_signal if sys.platform == "linux" else None,
            )
        except FileNotFoundError as exc:
            raise UnavailableError(
                f"cannot start {self._spec.command!r}: command not found",
                hint="check `command` in the configuration, or that it is on PATH",
            ) from exc
        except OSError as exc:
            raise UnavailableError(f"cannot start {self._spec.command!r}: {exc.strerror}") from exc
        self._transport = transport
        REAPER.watch(transport.get_pid())  # its group dies with mcpctl, however mcpctl dies
        # uvloop's pipe transports quack like asyncio.WriteTransport without subclassing it
        self._stdin = cast(asyncio.WriteTransport, transport.get_pipe_transport(0))

    def send(self, msg: Message) -> None:
        stdin = self._stdin
        if stdin is None or stdin.is_closing() or self._gone:
            raise UnavailableError("the server process is not running")
        if stdin.get_write_buffer_size() > MAX_STDIN_BACKLOG:
            raise UnavailableError("the server is not reading its input (stdin backlog over 64 MiB)")
        # Coalesce: every message queued in this turn of the event loop goes out in one write.
        # Under load that is one syscall (and one wake-up of the child) for many requests.
        if not self._outgoing:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outgoing.append(dumps(msg))

    def _flush(self) -> None:
        stdin = self._stdin
        lines, self._outgoing = self._outgoing, []
        if stdin is not None and not stdin.is_closing():
            lines.append(b"")
            stdin.write(b"\n".join(lines))

    async def close(self, grace: float | None = None) -> None:
        """Close stdin, wait; SIGTERM the group, wait; SIGKILL the group. Bounded by the grace time."""
        if self._transport is None:
            return
        step = max((self._spec.shutdown_timeout if grace is None else grace) / 2, 0.05)
        if self._stdin is not None and not self._stdin.is_closing():
            self._flush()
            self._stdin.close()
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None:
                self._signal_group(sig)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), step)
                break
        self._transport.close()
        await self.stderr.aclose()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    # -- pipe callbacks --------------------------------------------------------------------------

    def _stdout(self, data: bytes) -> None:
        for line in self._lines.feed(data):
            if isinstance(line, Oversized):
                limit = self._spec.max_line_bytes
                reason = f"a message of {line.size} bytes is over this server's max_line_bytes ({limit})"
                self.stderr.note(f"skipped a stdout line: {reason}")
                found = _RESPONSE_ID.search(line.head)
                if found is not None:  # fail that call now rather than let it time out
                    self._sink.message_lost(loads(found.group(1)), reason)
                continue
            if not line.strip():
                continue
            try:
                msg = parse_message(line)
            except ParseError:
                # npx and friends print banners on stdout; skip them rather than fail the server.
                self.stderr.note(f"skipped non-JSON stdout line: {line[:200].decode('utf-8', 'replace')}")
                continue
            self._sink.message_received(msg)

    def _exited(self) -> None:
        assert self._transport is not None
        self.returncode = self._transport.get_returncode()
        # Whatever the child left behind in its group (npx's node, a shell's children) goes with it.
        self._signal_group(signal.SIGKILL)
        if self.pid is not None:
            REAPER.forget(self.pid)
        # Pipes held open by a stray grandchild must not keep us waiting for connection_lost.
        asyncio.get_running_loop().call_later(1.0, self._all_closed)

    def _all_closed(self) -> None:
        if self._gone:
            return
        self._gone = True
        if self._transport is not None and self.returncode is None:
            self.returncode = self._transport.get_returncode()
        self._closed.set()
        self._sink.transport_closed(self._exit_reason())

    def _exit_reason(self) -> str:
        code = self.returncode
        if code is None:
            return "the server closed its output"
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"the server was killed by {signal.Signals(-code).name}"
        return f"the server exited with code {code}"

    def _signal_group(self, sig: signal.Signals) -> None:
        pid = self.pid
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
