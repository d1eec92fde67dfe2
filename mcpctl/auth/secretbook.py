"""Named secrets: values in the store, and an index of their names (keyrings cannot list portably)."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from mcpctl.auth.store import SecretStore, secret_user
from mcpctl.errors import UsageError
from mcpctl.fsutil import write_atomically
from mcpctl.paths import Paths, ensure_private_dir

SECRET_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
INDEX_FILE = "secrets-index.json"


def check_secret_name(name: str) -> str:
    if not SECRET_NAME.match(name):
        raise UsageError(
            f"invalid secret name {name!r}", hint="use letters, digits, '_', '.' and '-' (at most 128)"
        )
    return name


def index_path(paths: Paths) -> Path:
    """Names and times only, never values; the gateway watches it to notice `secrets set`."""
    return paths.state_dir / INDEX_FILE


@dataclass
class SecretBook:
    """Set, list and delete secrets; the store holds values, the index holds names."""

    store: SecretStore
    index: Path

    def names(self) -> dict[str, float]:
        """Secret names and when each was last set."""
        try:
            data = json.loads(self.index.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return {k: float(v) for k, v in data.items() if isinstance(v, int | float)}

    def set(self, name: str, value: str, now: float | None = None) -> None:
        check_secret_name(name)
        if not value:
            raise UsageError(f"refusing to store an empty value for {name!r}")
        self.store.set(secret_user(name), value)
        names = self.names()
        names[name] = time.time() if now is None else now
        self._write(names)

    def delete(self, name: str) -> bool:
        check_secret_name(name)
        existed = self.store.delete(secret_user(name))
        names = self.names()
        listed = names.pop(name, None) is not None
        if listed:
            self._write(names)
        return existed or listed

    def _write(self, names: dict[str, float]) -> None:
        ensure_private_dir(self.index.parent)
        write_atomically(self.index, json.dumps(names, indent=2, sort_keys=True) + "\n", mode=0o600)
