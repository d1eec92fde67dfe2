"""The authorization request (PKCE, state, resource, scope) and the checks on the browser's answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from mcpctl.oauth.errors import CallbackRejected, LoginCancelled, OAuthError
from mcpctl.oauth.pkce import Pkce

CANCELLED = frozenset({"access_denied", "consent_required", "login_required", "interaction_required"})


@dataclass(frozen=True)
class PendingAuthorization:
    """One authorization in flight: everything the callback is checked against, kept together
    (the recorded issuer sits next to the PKCE verifier and the state, as the spec asks)."""

    issuer: str
    iss_parameter_supported: bool
    client_id: str
    redirect_uri: str
    resource: str
    scopes: tuple[str, ...]
    pkce: Pkce
    state: str = field(repr=False)


def authorization_url(endpoint: str, pending: PendingAuthorization) -> str:
    """The URL the browser opens; the endpoint's own query parameters are kept (RFC 6749 §3.1)."""
    parts = urlsplit(endpoint)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in _OURS]
    query += [
        ("response_type", "code"),
        ("client_id", pending.client_id),
        ("redirect_uri", pending.redirect_uri),
        ("state", pending.state),
        ("code_challenge", pending.pkce.challenge),
        ("code_challenge_method", pending.pkce.method),
        ("resource", pending.resource),
    ]
    if pending.scopes:
        query.append(("scope", " ".join(pending.scopes)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


_OURS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "state",
        "code_challenge",
        "code_challenge_method",
        "resource",
        "scope",
    }
)


def accept_callback(params: Mapping[str, Sequence[str]], pending: PendingAuthorization) -> str:
    """The authorization code, once the response is proven to be this login's; raises otherwise.

    Order matters: a response with the wrong `state` is not ours at all (CSRF, or a stale tab);
    one with the wrong `iss` came from another authorization server (mix-up, RFC 9207), and its
    `error` must not even be shown. Only then is an error acted on, or the code taken.
    """
    single = _single_values(params)
    if single.get("state") != pending.state:
        raise CallbackRejected(
            "the sign-in response does not carry this login's state (a forged or stale response); "
            "nothing was stored",
            hint="run the mcpctl login command again, and finish it in the tab it opens",
        )
    iss = single.get("iss")
    if iss is not None and iss != pending.issuer:  # simple string comparison, no normalisation
        raise CallbackRejected(
            f"the sign-in response names issuer {iss!r}, not {pending.issuer!r} (a possible mix-up "
            "attack); nothing was stored"
        )
    if iss is None and pending.iss_parameter_supported:
        raise CallbackRejected(
            f"the sign-in response carries no `iss`, although {pending.issuer} promises one (RFC 9207); "
            "nothing was stored"
        )
    error = single.get("error")
    if error is not None:
        description = single.get("error_description", "")
        detail = f": {description}" if description else ""
        if error in CANCELLED:
            raise LoginCancelled(f"sign-in was cancelled or refused at {pending.issuer} ({error}{detail})")
        raise OAuthError(f"the authorization server refused the sign-in ({error}{detail})")
    code = single.get("code")
    if not code:
        raise CallbackRejected("the sign-in response carries no authorization code")
    return code


def _single_values(params: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Each parameter once: a repeated one is refused (it would make `state` checks ambiguous)."""
    out: dict[str, str] = {}
    for key, values in params.items():
        if len(values) != 1:
            raise CallbackRejected(f"the sign-in response repeats the parameter {key!r}")
        out[key] = values[0]
    return out
