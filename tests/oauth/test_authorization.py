"""The authorization request and the checks on the browser's answer (state, RFC 9207 iss, errors)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from mcpctl.oauth.authorize import PendingAuthorization, accept_callback, authorization_url
from mcpctl.oauth.errors import CallbackRejected, LoginCancelled, OAuthError
from mcpctl.oauth.pkce import new_pkce, new_state, s256

ISSUER = "https://auth.example.com"


def pending(*, iss_supported: bool = True, scopes: tuple[str, ...] = ("a", "b")) -> PendingAuthorization:
    return PendingAuthorization(
        issuer=ISSUER,
        iss_parameter_supported=iss_supported,
        client_id="cid",
        redirect_uri="http://127.0.0.1:5555/callback",
        resource="https://mcp.example.com/mcp",
        scopes=scopes,
        pkce=new_pkce(),
        state=new_state(),
    )


def test_pkce_is_s256_of_a_long_random_verifier() -> None:
    first, second = new_pkce(), new_pkce()
    assert 43 <= len(first.verifier) <= 128
    assert first.challenge == s256(first.verifier)
    assert first.method == "S256"
    assert first.verifier != second.verifier
    # RFC 7636 appendix B
    assert (
        s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
    assert new_state() != new_state()
    assert first.verifier not in repr(first)


def test_the_authorization_url_carries_pkce_state_resource_and_scope() -> None:
    p = pending()
    url = authorization_url("https://auth.example.com/authorize?tenant=x&scope=evil", p)
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "tenant": ["x"],
        "response_type": ["code"],
        "client_id": ["cid"],
        "redirect_uri": ["http://127.0.0.1:5555/callback"],
        "state": [p.state],
        "code_challenge": [p.pkce.challenge],
        "code_challenge_method": ["S256"],
        "resource": ["https://mcp.example.com/mcp"],
        "scope": ["a b"],
    }
    assert p.pkce.verifier not in url
    assert "scope=" not in authorization_url("https://auth.example.com/authorize", pending(scopes=()))


def test_a_matching_response_gives_the_code() -> None:
    p = pending()
    assert accept_callback({"code": ["c0de"], "state": [p.state], "iss": [ISSUER]}, p) == "c0de"
    quiet = pending(iss_supported=False)
    assert accept_callback({"code": ["c0de"], "state": [quiet.state]}, quiet) == "c0de"


@pytest.mark.parametrize(
    ("iss_supported", "iss", "accepted"),
    [
        (True, ISSUER, True),
        (True, None, False),  # promised but missing: reject
        (False, ISSUER, True),
        (False, None, True),
        (False, "https://evil.example.com", False),  # present: always compared
        (True, ISSUER + "/", False),  # no normalisation
    ],
)
def test_rfc_9207_table(iss_supported: bool, iss: str | None, accepted: bool) -> None:
    p = pending(iss_supported=iss_supported)
    params = {"code": ["c"], "state": [p.state], **({"iss": [iss]} if iss is not None else {})}
    if accepted:
        assert accept_callback(params, p) == "c"
    else:
        with pytest.raises(CallbackRejected, match="iss"):
            accept_callback(params, p)


def test_wrong_or_missing_state_is_rejected_before_anything_else() -> None:
    p = pending()
    for params in ({"code": ["c"], "state": ["forged"]}, {"code": ["c"]}, {"error": ["access_denied"]}):
        with pytest.raises(CallbackRejected, match="state"):
            accept_callback(params, p)
    with pytest.raises(CallbackRejected, match="repeats"):
        accept_callback({"code": ["c"], "state": [p.state, p.state]}, p)


def test_a_wrong_issuer_error_is_not_acted_on() -> None:
    p = pending()
    params = {
        "error": ["access_denied"],
        "error_description": ["shown?"],
        "state": [p.state],
        "iss": ["https://x"],
    }
    with pytest.raises(CallbackRejected) as raised:
        accept_callback(params, p)
    assert "shown?" not in str(raised.value)


def test_errors_are_reported_and_cancellation_is_named() -> None:
    p = pending()
    with pytest.raises(LoginCancelled, match="cancelled"):
        accept_callback({"error": ["access_denied"], "state": [p.state], "iss": [ISSUER]}, p)
    with pytest.raises(OAuthError, match="invalid_scope"):
        accept_callback({"error": ["invalid_scope"], "state": [p.state], "iss": [ISSUER]}, p)
    with pytest.raises(CallbackRejected, match="no authorization code"):
        accept_callback({"state": [p.state], "iss": [ISSUER]}, p)
