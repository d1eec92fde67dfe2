"""WWW-Authenticate parsing: Bearer parameters among other schemes, quoting, token68."""

from __future__ import annotations

from mcpctl.oauth.challenge import bearer_params, parse_challenges


def test_the_mcp_challenge_parameters_are_read() -> None:
    header = (
        'Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource", '
        'scope="files:read files:write", error="insufficient_scope"'
    )
    assert bearer_params(header) == {
        "resource_metadata": "https://mcp.example.com/.well-known/oauth-protected-resource",
        "scope": "files:read files:write",
        "error": "insufficient_scope",
    }


def test_bearer_is_found_among_other_schemes_and_token68() -> None:
    header = 'Basic abc123==, Negotiate, Bearer realm="mcp", Scope=a error=invalid_token'
    challenges = parse_challenges(header)
    assert [c.scheme for c in challenges] == ["basic", "negotiate", "bearer"]
    assert challenges[0].token68 == "abc123=="
    assert bearer_params(header) == {"realm": "mcp", "scope": "a", "error": "invalid_token"}


def test_quoted_strings_keep_commas_and_escapes() -> None:
    header = r'Bearer error_description="no, \"really\" not", scope="a b"'
    assert bearer_params(header) == {"error_description": 'no, "really" not', "scope": "a b"}


def test_junk_and_absence_give_no_parameters() -> None:
    assert bearer_params("") == {}
    assert bearer_params("Basic realm=x") == {}
    assert bearer_params('"unterminated, Bearer') == {}
    assert bearer_params("Bearer") == {}
