"""Sealed tokens: claims under authenticated encryption (AES-256-GCM) with a key ring that rotates.

A token is `mcpctl1.` + base64url(key id (4) + nonce (12) + ciphertext). The newest key seals;
every key in the ring opens, so keys rotate without breaking tokens already handed out: add the
new key first, keep the old one until its tokens expired, then drop it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "mcpctl1."
MAX_TOKEN = 4096  # characters; a longer token is refused before any work is done on it
KEY_BYTES = 32
_KID = 4
_NONCE = 12


class SealError(ValueError):
    """A token that is not ours, was changed, or was sealed with a key no longer in the ring."""


class KeyRing:
    """Seals with the first key, opens with any; each key is 32 bytes."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        for key in keys:
            if len(key) != KEY_BYTES:
                raise ValueError(f"sealing keys are {KEY_BYTES} bytes, not {len(key)}")
        self._keys = {hashlib.sha256(key).digest()[:_KID]: AESGCM(key) for key in keys}
        self._raw = {
            hashlib.sha256(key).digest()[:_KID]: hashlib.sha256(b"mcpctl-mac" + key).digest() for key in keys
        }
        self._sealing = hashlib.sha256(keys[0]).digest()[:_KID]

    @classmethod
    def random(cls) -> KeyRing:
        """One fresh key: tokens this process seals only this process opens."""
        return cls([os.urandom(KEY_BYTES)])

    def sign(self, text: str) -> str:
        """A short MAC of `text` under the newest key (for ids that must not be forged)."""
        return self._mac(self._sealing, text)

    def signed(self, text: str, mac: str) -> bool:
        """Whether `mac` is `text`'s, under any key in the ring (a client may have chosen it: any
        string is an answer, never an exception; compare_digest refuses non-ASCII str)."""
        if not mac.isascii():
            return False
        return any(hmac.compare_digest(self._mac(kid, text), mac) for kid in self._raw)

    def _mac(self, kid: bytes, text: str) -> str:
        digest = hmac.new(self._raw[kid], text.encode(), hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(digest).decode()

    def seal(self, claims: dict[str, Any]) -> str:
        nonce = os.urandom(_NONCE)
        kid = self._sealing
        plain = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
        sealed = self._keys[kid].encrypt(nonce, plain, PREFIX.encode() + kid)
        return PREFIX + base64.urlsafe_b64encode(kid + nonce + sealed).decode().rstrip("=")

    def open(self, token: object) -> dict[str, Any]:
        """The claims in `token`; SealError if it is not one of ours, intact."""
        if not isinstance(token, str) or not token.startswith(PREFIX) or len(token) > MAX_TOKEN:
            raise SealError("not a token mcpctl issued")
        body = token[len(PREFIX) :]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError) as exc:
            raise SealError("not a token mcpctl issued") from exc
        kid, nonce, sealed = raw[:_KID], raw[_KID : _KID + _NONCE], raw[_KID + _NONCE :]
        cipher = self._keys.get(kid)
        if cipher is None or len(nonce) != _NONCE:
            raise SealError("sealed with a key this host does not hold")
        try:
            plain = cipher.decrypt(nonce, sealed, PREFIX.encode() + kid)
        except InvalidTag as exc:
            raise SealError("the token was altered") from exc
        claims = json.loads(plain)
        if not isinstance(claims, dict):
            raise SealError("not a token mcpctl issued")
        return claims
