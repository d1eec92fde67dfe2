"""Token answers, absolute expiry, refresh timing, scope selection, registration and client auth."""

from __future__ import annotations

import base64
import json

import pytest

from mcpctl.errors import UsageError
from mcpctl.oauth.errors import OAuthError, TokenEndpointError, redact
from mcpctl.oauth.metadata import AuthServer
from mcpctl.oauth.registration import (
    ClientRegistration,
    choose_auth_method,
    client_authentication,
    metadata_document,
    parse_registration,
    registration_request,
)
from mcpctl.oauth.scopes import initial_scopes, split_scopes, union, with_offline_access
from mcpctl.oauth.tokens import Tokens, parse_token_response

NOW = 1_000_000.0
SERVER = AuthServer("https://as.example", "https://as.example/a", "https://as.example/t")


def body(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_expiry_is_absolute_and_granted_scopes_are_kept() -> None:
    tokens = parse_token_response(
        200,
        body(access_token="at", token_type="bearer", expires_in=3600, refresh_token="rt", scope="a b"),
        now=NOW,
        requested_scopes=("a", "b", "c"),
    )
    assert (tokens.access_token, tokens.refresh_token, tokens.scopes) == ("at", "rt", ("a", "b"))
    assert (tokens.expires_at, tokens.obtained_at) == (NOW + 3600, NOW)
    assert "at" not in repr(tokens).replace("obtained_at", "").replace("expires_at", "")
    assert Tokens.from_json(tokens.to_json()) == tokens


def test_missing_fields_fall_back_as_rfc_6749_says() -> None:
    first = parse_token_response(
        200, body(access_token="at", token_type="Bearer"), now=NOW, requested_scopes=("x",)
    )
    assert (first.scopes, first.expires_at, first.refresh_token) == (("x",), None, None)
    old = Tokens("old", "Bearer", "rt-old", ("a",), NOW, NOW - 10)
    refreshed = parse_token_response(
        200,
        body(access_token="new", token_type="Bearer", expires_in="60"),
        now=NOW,
        requested_scopes=(),
        previous=old,
    )
    assert (refreshed.refresh_token, refreshed.scopes, refreshed.expires_at) == ("rt-old", ("a",), NOW + 60)


def test_errors_carry_the_oauth_code_and_never_the_secrets_sent() -> None:
    with pytest.raises(TokenEndpointError) as raised:
        parse_token_response(
            400,
            body(error="invalid_grant", error_description="grant rt-secret-1 is gone"),
            now=NOW,
            requested_scopes=(),
            secrets=("rt-secret-1",),
        )
    assert raised.value.error == "invalid_grant"
    assert "rt-secret-1" not in str(raised.value)
    assert "[redacted]" in str(raised.value)
    with pytest.raises(TokenEndpointError, match="Bearer tokens only"):
        parse_token_response(200, body(access_token="at", token_type="DPoP"), now=NOW, requested_scopes=())
    with pytest.raises(TokenEndpointError, match="HTTP 502"):
        parse_token_response(502, b"<html>", now=NOW, requested_scopes=())
    assert redact("a abcd b", ["abcd", None, ""]) == "a [redacted] b"


def test_refresh_is_due_a_margin_before_expiry() -> None:
    hour = Tokens("at", "Bearer", "rt", (), NOW + 3600, NOW)
    assert not hour.refresh_due(NOW + 3539)
    assert hour.refresh_due(NOW + 3540)  # 60 s early
    short = Tokens("at", "Bearer", "rt", (), NOW + 4, NOW)
    assert not short.refresh_due(NOW + 2.9)
    assert short.refresh_due(NOW + 3)  # a quarter of its life early
    assert not Tokens("at", "Bearer", None, (), None, NOW).refresh_due(NOW + 10**9)


def test_scope_selection_follows_the_spec_order() -> None:
    assert initial_scopes((), ("files:read",), ("a", "b")) == ("files:read",)
    assert initial_scopes((), (), ("a", "b")) == ("a", "b")
    assert initial_scopes((), (), None) == ()
    assert initial_scopes(("mine",), ("files:read",), ("a",)) == ("mine", "files:read")
    assert union(("a", "b"), ("b", "c")) == ("a", "b", "c")
    assert split_scopes(["a b", "b c"]) == ("a", "b", "c")
    assert with_offline_access(("a",), ("a", "offline_access")) == ("a", "offline_access")
    assert with_offline_access(("a",), ("a",)) == ("a",)
    assert with_offline_access((), ("offline_access",)) == ()


def test_dynamic_registration_is_native_and_public_when_allowed() -> None:
    request = registration_request("http://127.0.0.1:5/callback", SERVER)
    assert request["application_type"] == "native"
    assert request["token_endpoint_auth_method"] == "none"
    assert request["grant_types"] == ["authorization_code", "refresh_token"]
    basic_only = AuthServer(
        "https://as.example", "a", "t", token_endpoint_auth_methods=("client_secret_basic",)
    )
    assert registration_request("r", basic_only)["token_endpoint_auth_method"] == "client_secret_basic"
    answer = body(client_id="c1", client_secret="s1", token_endpoint_auth_method="client_secret_post")
    client = parse_registration(201, answer, SERVER, request)
    assert (client.client_id, client.client_secret, client.auth_method, client.kind) == (
        "c1",
        "s1",
        "client_secret_post",
        "dynamic",
    )
    with pytest.raises(OAuthError, match="refused to register"):
        parse_registration(400, body(error="invalid_redirect_uri"), SERVER, request)


def test_client_authentication_at_the_token_endpoint() -> None:
    basic = ClientRegistration("i", "id:x", "preregistered", "client_secret_basic", "s&cret")
    headers, form = client_authentication(basic)
    assert form == {}
    assert (
        base64.b64decode(headers["authorization"].split()[1]).decode() == "id%3Ax:s%26cret"
    )  # RFC 6749 §2.3.1
    post = ClientRegistration("i", "id", "dynamic", "client_secret_post", "s")
    assert client_authentication(post) == ({}, {"client_id": "id", "client_secret": "s"})
    public = ClientRegistration("i", "id", "dynamic")
    assert client_authentication(public) == ({}, {"client_id": "id"})
    assert "s&cret" not in repr(basic)
    post_only = AuthServer("i", "a", "t", token_endpoint_auth_methods=("client_secret_post",))
    assert choose_auth_method(post_only, "s") == "client_secret_post"
    assert choose_auth_method(SERVER, "s") == "client_secret_basic"
    assert choose_auth_method(SERVER, None) == "none"


def test_a_client_metadata_document_url_must_be_https_with_a_path() -> None:
    assert (
        metadata_document("i", "https://app.example/client.json").client_id
        == "https://app.example/client.json"
    )
    for bad in ("http://app.example/client.json", "https://app.example", "https://app.example/"):
        with pytest.raises(UsageError):
            metadata_document("i", bad)
