"""Sealed tokens and MACs: round trips, rotation (newest key first), and every kind of bad token refused."""

from __future__ import annotations

import base64
import os

import pytest

from mcpctl.sealing import KEY_BYTES, MAX_TOKEN, PREFIX, KeyRing, SealError

CLAIMS = {"sub": "alice", "n": 3, "nested": {"ok": True, "list": [1, "two"]}}


def key() -> bytes:
    return os.urandom(KEY_BYTES)


def flip(text: str, index: int) -> str:
    """`text` with one base64url character at `index` changed to another."""
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1 :]


# -- round trip ------------------------------------------------------------------------------


def test_a_sealed_token_opens_to_the_same_claims() -> None:
    ring = KeyRing([key()])
    token = ring.seal(CLAIMS)
    assert token.startswith(PREFIX)
    assert ring.open(token) == CLAIMS


def test_claims_are_not_readable_in_the_token() -> None:
    ring = KeyRing([key()])
    token = ring.seal({"secret": "hunter2-hunter2"})
    body = token[len(PREFIX) :]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    assert b"hunter2" not in raw and "hunter2" not in token


def test_two_seals_of_the_same_claims_differ_and_both_open() -> None:
    ring = KeyRing([key()])
    first, second = ring.seal(CLAIMS), ring.seal(CLAIMS)
    assert first != second  # a fresh nonce each time
    assert ring.open(first) == ring.open(second) == CLAIMS


def test_a_ring_built_from_the_same_key_opens_the_token() -> None:
    k = key()
    assert KeyRing([k]).open(KeyRing([k]).seal(CLAIMS)) == CLAIMS


def test_a_ring_with_a_different_key_refuses_the_token() -> None:
    with pytest.raises(SealError):
        KeyRing([key()]).open(KeyRing([key()]).seal(CLAIMS))


def test_random_rings_are_independent() -> None:
    with pytest.raises(SealError):
        KeyRing.random().open(KeyRing.random().seal(CLAIMS))


# -- construction ----------------------------------------------------------------------------


def test_an_empty_ring_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one key"):
        KeyRing([])


@pytest.mark.parametrize("size", [0, 16, KEY_BYTES - 1, KEY_BYTES + 1])
def test_a_key_of_the_wrong_size_is_refused(size: int) -> None:
    with pytest.raises(ValueError, match=f"{KEY_BYTES} bytes, not {size}"):
        KeyRing([key(), os.urandom(size)])


# -- rotation --------------------------------------------------------------------------------


def test_a_token_sealed_by_the_old_key_opens_after_the_new_key_is_added() -> None:
    old, new = key(), key()
    token = KeyRing([old]).seal(CLAIMS)
    assert KeyRing([new, old]).open(token) == CLAIMS


def test_the_rotated_ring_seals_with_the_newest_key_which_is_first() -> None:
    old, new = key(), key()
    token = KeyRing([new, old]).seal(CLAIMS)
    assert KeyRing([new]).open(token) == CLAIMS  # sealed by `new`...
    with pytest.raises(SealError):
        KeyRing([old]).open(token)  # ...not by `old`: an instance not yet rotated cannot open it


def test_a_ring_that_dropped_the_old_key_refuses_its_tokens() -> None:
    old, new = key(), key()
    token = KeyRing([old]).seal(CLAIMS)
    assert KeyRing([new, old]).open(token) == CLAIMS
    with pytest.raises(SealError, match="key this host does not hold"):
        KeyRing([new]).open(token)


def test_the_order_of_the_keys_decides_only_which_one_seals() -> None:
    a, b = key(), key()
    by_a, by_b = KeyRing([a, b]).seal(CLAIMS), KeyRing([b, a]).seal(CLAIMS)
    for ring in (KeyRing([a, b]), KeyRing([b, a])):
        assert ring.open(by_a) == ring.open(by_b) == CLAIMS
    assert KeyRing([a]).open(by_a) == CLAIMS
    assert KeyRing([b]).open(by_b) == CLAIMS


# -- bad tokens ------------------------------------------------------------------------------


def test_every_single_character_change_in_the_body_is_refused() -> None:
    ring = KeyRing([key()])
    token = ring.seal(CLAIMS)
    # the last character may carry only padding bits of the final base64 group: skip it
    for index in range(len(PREFIX), len(token) - 1):
        with pytest.raises(SealError):
            ring.open(flip(token, index))


def test_a_tampered_ciphertext_says_it_was_altered() -> None:
    ring = KeyRing([key()])
    token = ring.seal(CLAIMS)
    # past the key id (4 bytes) and nonce (12 bytes): 16 bytes are the first 22 characters (and 2 bits)
    with pytest.raises(SealError, match="altered"):
        ring.open(flip(token, len(PREFIX) + 30))


def test_a_changed_key_id_is_refused() -> None:
    ring = KeyRing([key()])
    token = ring.seal(CLAIMS)
    with pytest.raises(SealError, match="key this host does not hold"):
        ring.open(flip(token, len(PREFIX)))


@pytest.mark.parametrize("keep", [0, 1, 5, 21, 25, 40])
def test_a_truncated_token_is_refused(keep: int) -> None:
    ring = KeyRing([key()])
    token = ring.seal(CLAIMS)
    with pytest.raises(SealError):
        ring.open(token[: len(PREFIX) + keep])


def test_a_token_missing_its_last_character_is_refused() -> None:
    ring = KeyRing([key()])
    token = ring.seal(CLAIMS)
    with pytest.raises(SealError):
        ring.open(token[:-1])


def test_a_token_with_something_appended_is_refused() -> None:
    ring = KeyRing([key()])
    token = ring.seal(CLAIMS)
    with pytest.raises(SealError):
        ring.open(token + "AAAA")


@pytest.mark.parametrize("token", [None, 42, 1.5, b"mcpctl1.AAAA", ["mcpctl1."], {"t": "mcpctl1."}, True])
def test_a_token_that_is_not_a_string_is_refused(token: object) -> None:
    with pytest.raises(SealError, match="not a token mcpctl issued"):
        KeyRing([key()]).open(token)


@pytest.mark.parametrize(
    "token",
    ["", "mcpctl1.", "mcpctl2.AAAA", "Bearer abc", "mcpctl1.!!!!", "MCPCTL1.AAAA", "mcpctl1." + "\u00e9" * 4],
)
def test_a_string_that_is_not_one_of_our_tokens_is_refused(token: str) -> None:
    with pytest.raises(SealError):
        KeyRing([key()]).open(token)


def test_a_token_without_the_prefix_is_refused() -> None:
    ring = KeyRing([key()])
    token = ring.seal(CLAIMS)
    with pytest.raises(SealError, match="not a token mcpctl issued"):
        ring.open(token[len(PREFIX) :])


def test_an_overlong_token_is_refused_before_decoding() -> None:
    ring = KeyRing([key()])
    with pytest.raises(SealError, match="not a token mcpctl issued"):
        ring.open(PREFIX + "A" * MAX_TOKEN)


def test_a_large_token_under_the_limit_opens() -> None:
    ring = KeyRing([key()])
    token = ring.seal({"pad": "x" * 2000})
    assert len(token) <= MAX_TOKEN
    assert ring.open(token) == {"pad": "x" * 2000}


def test_a_non_object_sealed_with_our_key_is_refused() -> None:
    # seal() is typed for dicts; a list sealed anyway must not come back out of open() as claims
    ring = KeyRing([key()])
    token = ring.seal([1, 2, 3])  # type: ignore[arg-type]
    with pytest.raises(SealError):
        ring.open(token)


# -- sign / signed ---------------------------------------------------------------------------


def test_a_signature_verifies_for_its_text_only() -> None:
    ring = KeyRing([key()])
    mac = ring.sign("session/ask-1")
    assert ring.signed("session/ask-1", mac)
    assert not ring.signed("session/ask-2", mac)
    assert not ring.signed("session/ask-1", flip(mac, 0))
    assert not ring.signed("session/ask-1", "")


def test_a_signature_is_deterministic_and_key_bound() -> None:
    k = key()
    assert KeyRing([k]).sign("x") == KeyRing([k]).sign("x")
    assert KeyRing([k]).sign("x") != KeyRing([key()]).sign("x")
    assert not KeyRing([key()]).signed("x", KeyRing([k]).sign("x"))


def test_a_signature_has_no_separator_a_dotted_id_would_split_on() -> None:
    mac = KeyRing([key()]).sign("s/1.host")
    assert "." not in mac and "/" not in mac


def test_signatures_rotate_like_tokens() -> None:
    old, new = key(), key()
    old_mac = KeyRing([old]).sign("text")
    rotated = KeyRing([new, old])
    assert rotated.signed("text", old_mac)  # an older key's mac still verifies while the ring has it
    new_mac = rotated.sign("text")
    assert new_mac != old_mac  # the newest key signs
    assert KeyRing([new]).signed("text", new_mac)
    assert not KeyRing([old]).signed("text", new_mac)
    assert not KeyRing([new]).signed("text", old_mac)  # dropped: the old key's macs fail


def test_a_non_ascii_mac_is_simply_not_ours() -> None:
    ring = KeyRing([key()])
    assert ring.signed("text", "\u00e9" * 16) is False
