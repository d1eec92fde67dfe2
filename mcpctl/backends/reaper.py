"""Children's process groups die with mcpctl, even a `kill -9`: a tiny watchdog process kills them.

The parent-death signal (Linux) reaches only a direct child, and a child's stdin EOF only what
reads it: `bash -c "sleep 987 & server"` leaves `sleep` behind. Each child leads a process group
of its own, so one `killpg` reaches all it started, but only someone alive can send it. The
watchdog is that someone: a second Python process (no imports beyond the standard library's
`os`, `signal` and `sys`; about 10 MB) that learns each group's id on a pipe and, when the pipe
reaches EOF (mcpctl exited, however it died: the kernel closes its end), SIGKILLs every group it
still knows and exits. One watchdog per mcpctl process, started with the first child.

What it cannot reach: a process that leaves its group (`setsid`, daemonizing). Without root
(cgroups, PID namespaces) nothing can follow those once their parent is gone.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import subprocess
import sys

log = logging.getLogger(__name__)

# Runs as `python -I -S -c SCRIPT`: isolated, no site packages, so it starts in ~15 ms.
_SCRIPT = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is for mcpctl to handle
groups = set()
for line in sys.stdin.buffer:
    op, _, pgid = line.strip().partition(b" ")
    if pgid.isdigit():
        (groups.add if op == b"+" else groups.discard)(int(pgid))
for pgid in groups:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
"""
MARKER = "mcpctl-reaper"  # in the watchdog's command line, to tell it apart in `ps`


class Reaper:
    """mcpctl's side of the watchdog: tell it each group as it starts and as it ends."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._groups: set[int] = set()
        self._registered = False  # close() runs at exit

    def watch(self, pgid: int) -> None:
        self._groups.add(pgid)
        self._send(f"+ {pgid}\n")

    def forget(self, pgid: int) -> None:
        if pgid in self._groups:
            self._groups.discard(pgid)
            self._send(f"- {pgid}\n")

    def close(self) -> None:
        """At a normal exit: the watchdog ends what is still registered (nothing, normally) and goes."""
        proc, self._proc = self._proc, None
        if proc is None or proc.stdin is None:
            return
        with contextlib.suppress(OSError):
            proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(1.0)

    def _send(self, line: str) -> None:
        # A few bytes to a pipe the watchdog drains at once: never blocks in practice.
        proc = self._proc
        if proc is None or proc.poll() is not None:
            self._start()  # it learns every group as it starts, this one's news included
            return
        try:
            assert proc.stdin is not None
            proc.stdin.write(line.encode())
            proc.stdin.flush()
        except OSError:  # someone killed it: another one takes over, knowing every group
            self._start()

    def _start(self) -> None:
        old, self._proc = self._proc, None
        if old is not None and old.stdin is not None:
            with contextlib.suppress(OSError):
                old.stdin.close()
            old.poll()  # reap it if it is gone
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _SCRIPT, MARKER],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # in no group that mcpctl, a terminal or a child signals
                close_fds=True,
            )
        except OSError as exc:
            log.warning("cannot start the watchdog that cleans up after a hard exit: %s", exc)
            return
        if not self._registered:
            atexit.register(self.close)
            self._registered = True
        assert proc.stdin is not None
        with contextlib.suppress(OSError):
            proc.stdin.write("".join(f"+ {g}\n" for g in self._groups).encode())
            proc.stdin.flush()
        self._proc = proc


REAPER = Reaper()
"""This process's watchdog (one per process, as the groups it guards are the process's children);
it starts with the first child."""
