"""Following the current audit file like `tail -F`: across rotation (a new file) and truncation."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from mcpctl.audit.files import CURRENT, audit_files, trails

_READ = 1 << 20


class Follower:
    """Polled, never blocking: each `poll` returns the complete lines written since the last one.

    Rotation shows as a new inode at the path: what is left in the old file is read to its end
    first, then the new file from its start. Truncation shows as a size below the read position:
    reading starts over at the beginning.
    """

    def __init__(self, directory: Path, *, from_start: bool = False) -> None:
        self.path = directory / CURRENT
        self._handle: BinaryIO | None = None
        self._inode = -1
        self._partial = b""
        self._open(at_end=not from_start)

    @property
    def position(self) -> int:
        return self._handle.tell() if self._handle is not None else 0

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def poll(self) -> list[bytes]:
        lines: list[bytes] = []
        if self._handle is None:
            self._open(at_end=False)  # the file appeared after we started: all of it is new
            if self._handle is None:
                return lines
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            st = None  # rotated, and the new file is not there yet: finish the old one
        if st is not None and st.st_ino != self._inode:
            lines += self._read()
            self._partial = b""  # the old file ended mid-line: that line will never be finished
            old = self._inode
            self.close()
            self._open(at_end=False)
            lines += self._rotated_since(old)
        elif st is not None and st.st_size < self.position and self._handle is not None:
            self._handle.seek(0)
            self._partial = b""
        lines += self._read()
        return lines

    def _rotated_since(self, old: int) -> list[bytes]:
        """Whole files rotated after the one we were reading (several rotations between two polls),
        up to the one now open; read after opening it, so none can slip between."""
        lines: list[bytes] = []
        after = False
        for path in audit_files(self.path.parent):
            if path.name == CURRENT:
                break
            try:
                inode = os.stat(path).st_ino
                if inode == self._inode:
                    break
                if after:
                    data = path.read_bytes()
                    lines += [ln for ln in data[: data.rfind(b"\n") + 1].split(b"\n") if ln.strip()]
            except FileNotFoundError:
                continue  # removed by retention meanwhile
            after = after or inode == old
        return lines

    def _open(self, *, at_end: bool) -> None:
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return
        self._handle = handle
        self._inode = os.fstat(handle.fileno()).st_ino
        if at_end:
            handle.seek(0, os.SEEK_END)

    def _read(self) -> list[bytes]:
        if self._handle is None:
            return []
        data = self._partial + self._handle.read(_READ)
        while True:
            more = self._handle.read(_READ)
            if not more:
                break
            data += more
        if not data:
            return []
        cut = data.rfind(b"\n") + 1
        self._partial = data[cut:]
        return [line for line in data[:cut].split(b"\n") if line.strip()]


class Followers:
    """Several trails followed as one (a fleet's, side by side): each poll, what any of them added."""

    def __init__(self, directories: list[Path], *, from_start: bool = False) -> None:
        self._followers = [Follower(d, from_start=from_start) for d in directories]

    def poll(self) -> list[bytes]:
        return [line for follower in self._followers for line in follower.poll()]

    def close(self) -> None:
        for follower in self._followers:
            follower.close()


def follower_for(directory: Path, *, from_start: bool = False) -> Follower | Followers:
    """A follower of the trail in `directory`, or of the several trails under it."""
    found = trails(directory)
    if len(found) > 1:
        return Followers(found, from_start=from_start)
    return Follower(found[0] if found else directory, from_start=from_start)
