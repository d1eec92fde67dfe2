"""Cross-process single flight: a lock file per authorization server (fcntl.flock), polled from async code."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

from mcpctl.errors import McpctlError
from mcpctl.paths import ensure_private_dir

POLL_SECONDS = 0.05


class LockTimeout(McpctlError):
    """Another mcpctl process held the lock for longer than this one could wait."""


def lock_path(directory: Path, issuer: str, purpose: str) -> Path:
    """`<runtime>/oauth/<hash of issuer>.<purpose>.lock`: the issuer may hold any characters."""
    digest = hashlib.sha256(issuer.encode()).hexdigest()[:24]
    return directory / f"{digest}.{purpose}.lock"


@contextlib.asynccontextmanager
async def held(path: Path, *, wait: float, on_wait: Callable[[], None] | None = None) -> AsyncIterator[None]:
    """Hold an exclusive lock on `path` (created 0600); wait up to `wait` seconds for it.

    The kernel drops the lock when its holder exits, so a crashed process never wedges the next.
    Polling with LOCK_NB (rather than a blocking flock in a thread) keeps the wait cancellable.
    """
    fd = await asyncio.to_thread(_open, path)
    try:
        deadline = time.monotonic() + wait
        waited = False
        while not _try_lock(fd):
            if not waited and on_wait is not None:
                on_wait()
            waited = True
            if time.monotonic() >= deadline:
                raise LockTimeout(f"another mcpctl process kept {path.name} locked for {wait:g}s")
            await asyncio.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _open(path: Path) -> int:
    ensure_private_dir(path.parent)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def held_blocking(path: Path) -> Iterator[None]:
    """For worker threads: a short critical section (the index file's read-modify-write)."""
    fd = _open(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing drops the lock
