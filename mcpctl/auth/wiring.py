"""Plugs the auth part into the host: the auth layer, the policy hook, key and JWKS services, secrets."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mcpctl.auth.apikeys import KeyFile
from mcpctl.auth.hook import PolicyHook
from mcpctl.auth.policy import Policy
from mcpctl.auth.resolver import SecretResolver
from mcpctl.auth.resource import ProtectedResource
from mcpctl.auth.secretbook import index_path
from mcpctl.auth.store import open_store
from mcpctl.auth.throttle import FailureAudit
from mcpctl.config.access import AuthConfig
from mcpctl.config.models import GatewayConfig
from mcpctl.edge.asgi import ASGIApp
from mcpctl.errors import UsageError
from mcpctl.extension import Extension
from mcpctl.loopback import is_loopback_host
from mcpctl.router.context import Principal

if TYPE_CHECKING:
    from mcpctl.extension import PartContext

log = logging.getLogger(__name__)


def build(context: PartContext) -> Extension:
    config = context.config
    auth = config.auth
    check_auth_config(auth, config.gateway)
    policy = Policy(config.policy, auth.roles_claim)
    resolver = SecretResolver(
        config, lambda: open_store(context.paths), index_path(context.paths), context.secrets
    )
    part = Extension(hooks=[] if _unrestricted(auth, policy) else [PolicyHook(policy, context.audit)])
    part.services.append(resolver)
    part.resolve = resolver.resolve
    if auth.mode == "none":
        return part

    from mcpctl.auth.layer import AuthLayer

    keys = tokens = None
    if auth.mode in ("api-key", "both"):
        from mcpctl.auth.verify import KeyVerifier, KeyWatch, UsageFlusher

        key_file = KeyFile.at(context.paths)
        keys = KeyVerifier(key_file.path)
        part.services.append(UsageFlusher(keys, key_file.usage_path))
        part.services.append(KeyWatch(keys, lambda ids, names: context.end_streams(_key_holders(ids, names))))
    if auth.mode in ("oauth", "both"):
        from mcpctl.auth.jwks import JwksCache
        from mcpctl.auth.tokens import TokenValidator

        issuer = str(auth.issuer)  # check_auth_config made sure there is one
        jwks = JwksCache(issuer, auth.jwks_uri)
        tokens = TokenValidator(auth, issuer, jwks)
        part.services.append(jwks)
    resource = ProtectedResource(
        issuer=auth.issuer if tokens is not None else None,
        scopes=list(auth.scopes),
        public_url=auth.public_url,
        audience=auth.audience,
        allowed_hosts=list(config.gateway.allowed_hosts),
        extra_scopes=policy.scopes_supported(),
    )
    max_body = config.gateway.max_body_bytes
    failures = FailureAudit(context.audit, auth.failure_records_per_minute, auth.failure_records_burst)
    part.services.append(failures)

    def layer(app: ASGIApp) -> ASGIApp:
        return AuthLayer(
            app,
            resource=resource,
            policy=policy,
            audit=context.audit,
            max_body=max_body,
            keys=keys,
            tokens=tokens,
            failures=failures,
        )

    part.layers.append(layer)
    return part


def _key_holders(ids: set[str], names: set[str]) -> Callable[[Principal], bool]:
    """Whether a principal came with one of these keys (by id; by name where no id was kept)."""

    def holds(principal: Principal) -> bool:
        if principal.kind != "api-key":
            return False
        key_id = principal.claims.get("key_id")
        return key_id in ids if key_id is not None else principal.name in names

    return holds


def _unrestricted(auth: AuthConfig, policy: Policy) -> bool:
    """No rules and no API keys (whose tool globs restrict them): the hook would only cost time."""
    return policy.open and auth.mode in ("none", "oauth")


def check_auth_config(auth: AuthConfig, gateway: GatewayConfig) -> None:
    """What the models cannot check alone (the mode may come from `serve --auth`)."""
    if auth.mode not in ("oauth", "both"):
        return
    if not auth.issuer:
        raise UsageError(
            f"auth mode {auth.mode} needs the issuer whose tokens to accept",
            hint='set [auth] issuer = "https://your-issuer.example" in the config',
        )
    for field, url in (("issuer", auth.issuer), ("jwks_uri", auth.jwks_uri)):
        if url is None:
            continue
        parts = urlsplit(url)
        if parts.scheme != "https" and not (
            parts.scheme == "http" and is_loopback_host(parts.hostname or "")
        ):
            raise UsageError(
                f"[auth] {field} {url!r} must use https (plain http only on loopback)",
                hint="signing keys fetched over plain http could be swapped by anyone on the path",
            )
    if not (auth.audience or auth.public_url) and not is_loopback_host(gateway.host):
        raise UsageError(
            f"listening on {gateway.host} with OAuth needs the URL clients use, to check token audiences",
            hint='set [auth] public_url = "https://mcp.example.com" (or [auth] audience)',
        )
