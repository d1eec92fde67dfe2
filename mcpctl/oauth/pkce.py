"""PKCE (RFC 7636, S256 only) and the `state` value: fresh randomness for every authorization."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Pkce:
    verifier: str = field(repr=False)
    challenge: str
    method: str = "S256"


def s256(verifier: str) -> str:
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def new_pkce() -> Pkce:
    verifier = _b64url(secrets.token_bytes(48))  # 64 characters: within RFC 7636's 43..128
    return Pkce(verifier, s256(verifier))


def new_state() -> str:
    return secrets.token_urlsafe(32)
