"""API keys: their format, their records (hashes, never plaintext) and the 0600 file that holds them."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from mcpctl.errors import UsageError
from mcpctl.fsutil import write_atomically
from mcpctl.paths import Paths, ensure_private_dir

PREFIX = "mcpk_"
# mcpk_<key id: 12 hex>_<secret: 32 random bytes, base32> -- the id makes lookup O(1); the prefix
# makes a leaked key easy to recognise (and to scan for).
KEY_PATTERN = re.compile(r"^mcpk_([0-9a-f]{12})_([a-z2-7]{52})$")
ID_END = len(PREFIX) + 12  # where the id ends (the "_" before the secret)
KEY_LENGTH = ID_END + 1 + 52
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
KEYS_FILE = "api-keys.json"
USAGE_FILE = "api-keys-usage.json"


def new_key() -> tuple[str, str]:
    """A fresh key and its id."""
    key_id = secrets.token_hex(6)
    secret = base64.b32encode(secrets.token_bytes(32)).decode("ascii").rstrip("=").lower()
    return f"{PREFIX}{key_id}_{secret}", key_id


def key_id_of(key: str) -> str | None:
    """The id embedded in a well-formed key, or None."""
    match = KEY_PATTERN.match(key)
    return match.group(1) if match else None


def looks_like_key(credential: str) -> bool:
    return credential.startswith(PREFIX)


def hash_key(key: str) -> str:
    # A fast hash is enough: keys carry 256 random bits, so there is nothing to brute-force.
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise UsageError(
            f"invalid key name {name!r}",
            hint="use letters, digits, '_', '.' and '-' (at most 64), starting with a letter or digit",
        )
    return name


@dataclass(frozen=True)
class KeyRecord:
    """One key as the gateway knows it: a hash, the tools it may use, its lifetime."""

    id: str
    name: str
    hash: str
    tools: tuple[str, ...] = ()  # exposed tool-name globs; empty: whatever policy allows
    created: float = 0.0
    expires: float | None = None
    revoked: float | None = None
    rotated_from: str | None = None  # the id this key replaced
    retires: float | None = None  # set on a rotated-out key: valid until then (the overlap)

    def matches(self, key: str) -> bool:
        return hmac.compare_digest(self.hash, hash_key(key))

    def end(self) -> float | None:
        """When the key stops working (the earlier of its expiry and its retirement)."""
        ends = [t for t in (self.expires, self.retires) if t is not None]
        return min(ends) if ends else None

    def status(self, now: float) -> str:
        """active, revoked, expired, retiring (rotated, in its overlap) or retired."""
        if self.revoked is not None:
            return "revoked"
        if self.expires is not None and now >= self.expires:
            return "expired"
        if self.retires is not None:
            return "retired" if now >= self.retires else "retiring"
        return "active"

    def usable(self, now: float) -> bool:
        return self.status(now) in ("active", "retiring")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["tools"] = list(self.tools)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyRecord:
        return cls(**{**data, "tools": tuple(data.get("tools") or ())})


@dataclass
class KeyFile:
    """The records file (0600, in the state dir). Hashes are not secrets, but nobody else needs them."""

    path: Path
    records: dict[str, KeyRecord] = field(default_factory=dict)

    @classmethod
    def at(cls, paths: Paths) -> KeyFile:
        return cls(paths.state_dir / KEYS_FILE)

    @property
    def usage_path(self) -> Path:
        """Last-used times, written only by the gateway (so it never races the CLI's writes)."""
        return self.path.with_name(USAGE_FILE)

    def load(self) -> KeyFile:
        self.records = read_records(self.path)
        return self

    def save(self) -> None:
        ensure_private_dir(self.path.parent)
        body = {"version": 1, "keys": [r.to_json() for r in self.records.values()]}
        write_atomically(self.path, json.dumps(body, indent=2) + "\n", mode=0o600)

    @contextlib.contextmanager
    def editing(self) -> Iterator[KeyFile]:
        """Read, change and write under an exclusive lock (two CLI commands may run at once)."""
        ensure_private_dir(self.path.parent)
        lock = self.path.with_name(f".{self.path.name}.lock")
        with os.fdopen(os.open(lock, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                self.load()
                yield self
                self.save()
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def by_name(self, name: str) -> list[KeyRecord]:
        return [r for r in self.records.values() if r.name == name]

    def current(self, name: str, now: float) -> KeyRecord | None:
        """The newest usable, not rotated-out key of this name."""
        live = [r for r in self.by_name(name) if r.usable(now) and r.retires is None]
        return max(live, key=lambda r: r.created) if live else None

    def create(
        self, name: str, tools: tuple[str, ...], now: float, lifetime: float | None
    ) -> tuple[str, KeyRecord]:
        if self.current(check_name(name), now) is not None:
            raise UsageError(
                f"a key named {name!r} already exists", hint=f"use `mcpctl keys rotate {name}` for a new one"
            )
        key, key_id = new_key()
        record = KeyRecord(key_id, name, hash_key(key), tools, now, now + lifetime if lifetime else None)
        self.records[key_id] = record
        return key, record

    def rotate(self, name: str, now: float, overlap: float) -> tuple[str, KeyRecord, KeyRecord]:
        """A new key with the old one's tools and lifetime; the old one works until the overlap ends."""
        old = self.current(name, now)
        if old is None:
            raise UsageError(f"no active key named {name!r}", hint="see `mcpctl keys list`")
        lifetime = old.expires - old.created if old.expires is not None else None
        key, key_id = new_key()
        new = KeyRecord(
            key_id,
            name,
            hash_key(key),
            old.tools,
            now,
            now + lifetime if lifetime else None,
            rotated_from=old.id,
        )
        self.records[old.id] = replace(old, retires=now + overlap)
        self.records[key_id] = new
        return key, new, self.records[old.id]

    def revoke(self, name: str, now: float) -> list[KeyRecord]:
        """Revoke every usable key of this name (the current one and any still in its overlap)."""
        revoked = []
        for record in self.by_name(name):
            if record.revoked is None and record.usable(now):
                self.records[record.id] = replace(record, revoked=now)
                revoked.append(self.records[record.id])
        if not revoked:
            raise UsageError(f"no active key named {name!r}", hint="see `mcpctl keys list --all`")
        return revoked


def read_records(path: Path) -> dict[str, KeyRecord]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise UsageError(
            f"{path} is not valid JSON", hint="restore it from a backup, or delete it and create keys again"
        ) from exc
    records = (KeyRecord.from_json(item) for item in data.get("keys", []))
    return {r.id: r for r in records}


def read_usage(path: Path) -> dict[str, float]:
    """Last-used times by key id (the gateway writes them in batches)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return {k: float(v) for k, v in data.items() if isinstance(v, int | float)}


def write_usage(path: Path, usage: dict[str, float]) -> None:
    ensure_private_dir(path.parent)
    write_atomically(path, json.dumps(usage, indent=2, sort_keys=True) + "\n", mode=0o600)
