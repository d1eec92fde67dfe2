"""Small filesystem helpers: private directories, atomic private writes."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def private_dir(path: Path) -> Path:
    """Create `path` and any missing parents readable only by the user (0700); tighten `path`
    itself if an older version left it open to others. Parents that exist are left alone."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
    info = path.stat()
    if stat.S_IMODE(info.st_mode) & 0o077 and info.st_uid == getattr(os, "getuid", lambda: -1)():
        path.chmod(stat.S_IMODE(info.st_mode) & 0o700)
    return path


def write_atomically(path: Path, text: str, mode: int = 0o600) -> None:
    """Write a file so readers never see half of it: temp file in the same dir, then rename.

    Private by default (0600, in a directory created 0700): mcpctl's files are the user's alone.
    """
    if not path.parent.exists():
        private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
