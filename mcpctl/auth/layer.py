"""The auth layer (ASGI, app -> app): who is calling, 401/403 with RFC 9728 challenges, metadata."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from mcpctl.audit.api import AuditRecorder
from mcpctl.auth.apikeys import KeyRecord, looks_like_key
from mcpctl.auth.policy import Policy
from mcpctl.auth.resource import METADATA_PATHS, ProtectedResource
from mcpctl.auth.throttle import FailureAudit
from mcpctl.auth.tokens import TokenRejected, TokenValidator
from mcpctl.auth.verify import KeyRejected, KeyVerifier
from mcpctl.edge.asgi import ASGIApp, ASGIMessage, Receive, Scope, Send, direct, send_json
from mcpctl.protocol import codes
from mcpctl.protocol.jsonrpc import error
from mcpctl.router.context import Principal

# Liveness and readiness stay open (probes carry no credentials, and say nothing secret); the
# admin API checks its own token.
OPEN_PATHS = frozenset({"/health", "/ready"})
CALL_PATHS = frozenset({"/mcp", "/mcp/", "/messages", "/messages/"})
SUCCESS_AUDIT_SECONDS = 60.0  # one auth.success per credential per minute, not one per request
_SEEN_LIMIT = 10_000
_RECENT_KEYS_LIMIT = 1_024
# An API key's header value is under 80 bytes; a JWT's is longer, and hashing one for a lookup
# that cannot find it would cost every OAuth request.
_RECENT_KEY_BYTES = 128


@dataclass(frozen=True, slots=True)
class _RecentKey:
    """An API key the layer let through, for the short way in `__call__`: who it is, which header
    presented it, the key file's generation it was checked in, when it ends (wall clock, as the
    verifier keeps it), and when its next auth.success is due (the layer's clock)."""

    principal: Principal
    key_id: str
    in_authorization: bool
    generation: int
    ends: float
    audit_due: float


@dataclass(frozen=True)
class _Pending:
    """A credential that needs an await: the key file changed, or the token is not cached."""

    credential: str
    is_key: bool


@dataclass(frozen=True)
class Refusal:
    status: int  # 401 or 403
    reason: str
    credential: str  # "none", "api-key" or "oauth"
    error: str | None = None  # RFC 6750 error code
    needed: tuple[str, ...] = ()
    principal: str | None = None
    key_id: str | None = None


class AuthLayer:
    """Puts the caller's Principal in the ASGI scope (`mcpctl.principal`), or answers 401/403 itself.

    Every event (success, once a minute per credential; each failure; each 403) goes to the audit
    recorder, with the reason and never the credential.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        resource: ProtectedResource,
        policy: Policy,
        audit: AuditRecorder,
        max_body: int,
        keys: KeyVerifier | None = None,
        tokens: TokenValidator | None = None,
        failures: FailureAudit | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._app = direct(app)
        self._resource = resource
        self._policy = policy
        self._audit = audit
        self._max_body = max_body
        self._keys = keys
        self._tokens = tokens
        # 401s reach the audit trail through a per-address throttle (a flood must not grow it freely)
        self._failures = failures
        self._clock = clock
        self._key_principals: dict[str, tuple[KeyRecord, Principal]] = {}
        self._seen: dict[tuple[str, str], float] = {}
        # API keys let through, by the header value that presented them (see __call__)
        self._recent_keys: dict[bytes, _RecentKey] = {}

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:  # noqa: PLR0911 - each way returns what to await
        # Not a coroutine itself: a request let through is the inner app's own coroutine, so this
        # layer adds no frame that every resumption of the request would pass through.
        if scope["type"] != "http":
            return self._app(scope, receive, send)
        path = scope["path"]
        if path not in CALL_PATHS:  # (the calls' paths first: they are the most asked)
            if path in METADATA_PATHS:
                return self._metadata(scope, send)
            if path in OPEN_PATHS or path.startswith("/admin/"):
                return self._app(scope, receive, send)
        if scope["method"] == "OPTIONS":
            return self._app(scope, receive, send)
        presented, in_authorization = _presented(scope["headers"])
        recent = (
            self._recent_keys.get(presented)
            if presented is not None and len(presented) <= _RECENT_KEY_BYTES
            else None
        )
        # An API key let through before, presented again with the same bytes, passes without being
        # decoded or checked again: in the same header, while its next auth.success is not due and
        # the verifier says it still works (the key file unchanged, the key not ended). Most
        # requests pass here. (Written out rather than a method: a Python call each request.)
        keys = self._keys
        if (
            recent is not None
            and recent.in_authorization is in_authorization
            and self._clock() < recent.audit_due
            and keys is not None
            and keys.still_works(recent.key_id, recent.generation, recent.ends)
        ):
            scope["mcpctl.principal"] = recent.principal
            return self._app(scope, receive, send)
        outcome = self._identify(scope, presented, in_authorization)
        if type(outcome) is not Principal or (self._policy.scoped and self._steps_up(scope, outcome)):
            return self._slowly(scope, receive, send, outcome)
        scope["mcpctl.principal"] = outcome
        return self._app(scope, receive, send)

    async def _slowly(
        self, scope: Scope, receive: Receive, send: Send, outcome: Principal | Refusal | _Pending
    ) -> None:
        """A request that needs an await before it may pass: a credential to look up, a refusal
        to send, or a body to read for the scopes its tool needs."""
        if isinstance(outcome, _Pending):  # a key file to re-read, or a token not seen before
            outcome = await self._identify_slowly(scope, outcome)
        if isinstance(outcome, Refusal):
            await self._refuse(scope, send, outcome)
            return
        if self._steps_up(scope, outcome):
            receive, refusal = await self._step_up_needed(receive, outcome)
            if refusal is not None:
                await self._refuse(scope, send, refusal)
                return
        scope["mcpctl.principal"] = outcome
        await self._app(scope, receive, send)

    # -- who is calling --------------------------------------------------------------------------

    def _remember(self, scope: Scope, keys: KeyVerifier, record: KeyRecord, principal: Principal) -> None:
        """Let this key's next requests take the short way, until its next auth.success is due."""
        presented, in_authorization = _presented(scope["headers"])
        audited = self._seen.get((principal.name, record.id))
        if presented is None or len(presented) > _RECENT_KEY_BYTES or audited is None:
            return
        if len(self._recent_keys) >= _RECENT_KEYS_LIMIT:
            self._recent_keys.clear()  # one key presented in ever-new ways must not grow it freely
        end = record.end()
        self._recent_keys[presented] = _RecentKey(
            principal,
            record.id,
            in_authorization,
            keys.generation,
            math.inf if end is None else end,
            audited + SUCCESS_AUDIT_SECONDS,
        )

    def _identify(
        self, scope: Scope, presented: bytes | None, in_authorization: bool
    ) -> Principal | Refusal | _Pending:
        """Synchronous for the common case (a known key, a cached token): no await on the hot path.

        `presented` is the header value `_presented` found: X-API-Key holds a key, Authorization
        a key or a token after "Bearer ".
        """
        if not in_authorization or presented is None:  # (Authorization found is never None)
            key = presented.decode("latin-1").strip() if presented is not None else ""
            return self._identify_key(scope, key) if key else Refusal(401, "no credentials", "none")
        scheme, _, credential = presented.decode("latin-1").partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            return Refusal(401, "unsupported authorization scheme (use Bearer)", "none", "invalid_request")
        if looks_like_key(credential):
            return self._identify_key(scope, credential)
        if self._tokens is None:
            return Refusal(401, "not an API key (auth mode api-key)", "api-key", "invalid_token")
        cached = self._tokens.cached(credential, self._resource.audiences(scope))
        if cached is None:
            return _Pending(credential, is_key=False)
        return self._token_outcome(scope, cached)

    def _identify_key(self, scope: Scope, key: str) -> Principal | Refusal | _Pending:
        if self._keys is None:
            return Refusal(401, "API keys are not accepted (auth mode oauth)", "api-key", "invalid_token")
        if not self._keys.current():
            return _Pending(key, is_key=True)
        return self._key_outcome(scope, self._keys, key)

    async def _identify_slowly(self, scope: Scope, pending: _Pending) -> Principal | Refusal:
        keys, tokens = self._keys, self._tokens
        if pending.is_key and keys is not None:
            await keys.refresh()
            return self._key_outcome(scope, keys, pending.credential)
        if not pending.is_key and tokens is not None:
            outcome = await tokens.validate(pending.credential, self._resource.audiences(scope))
            return self._token_outcome(scope, outcome)
        return Refusal(401, "credential not accepted", "none", "invalid_token")  # not reached: see _identify

    def _key_outcome(self, scope: Scope, keys: KeyVerifier, key: str) -> Principal | Refusal:
        outcome = keys.check(key)
        if isinstance(outcome, KeyRejected):
            return Refusal(
                401, outcome.reason, "api-key", "invalid_token", principal=outcome.name, key_id=outcome.key_id
            )
        cached = self._key_principals.get(outcome.id)
        if cached is not None and cached[0] is outcome:
            principal = cached[1]
        else:
            principal = Principal(
                outcome.name, "api-key", claims={"key_id": outcome.id, "tools": outcome.tools}
            )
            self._key_principals[outcome.id] = (outcome, principal)
        self._success(scope, principal, outcome.id)
        self._remember(scope, keys, outcome, principal)
        return principal

    def _token_outcome(self, scope: Scope, outcome: Principal | TokenRejected) -> Principal | Refusal:
        if isinstance(outcome, TokenRejected):
            error_code = "insufficient_scope" if outcome.status == 403 else "invalid_token"
            return Refusal(
                outcome.status, outcome.reason, "oauth", error_code, outcome.needed, outcome.subject
            )
        jti = outcome.claims.get("jti")
        self._success(scope, outcome, jti if isinstance(jti, str) else outcome.name)
        return outcome

    def _success(self, scope: Scope, principal: Principal, credential_id: str) -> None:
        now = self._clock()
        seen = (principal.name, credential_id)
        last = self._seen.get(seen)
        if last is not None and now - last < SUCCESS_AUDIT_SECONDS:
            return
        if len(self._seen) >= _SEEN_LIMIT:
            self._seen.clear()
        self._seen[seen] = now
        fields = {"key_id": credential_id} if principal.kind == "api-key" else {"token_id": credential_id}
        self._audit.record("auth.success", principal=principal, **_request_fields(scope), **fields)

    # -- per-tool scopes (step-up) ---------------------------------------------------------------

    def _steps_up(self, scope: Scope, principal: Principal) -> bool:
        """Whether the body must be read first, for the scopes its tool needs (_step_up_needed)."""
        return (
            self._policy.scoped
            and principal.kind == "oauth"
            and scope["method"] == "POST"
            and scope["path"] in CALL_PATHS
        )

    async def _step_up_needed(self, receive: Receive, principal: Principal) -> tuple[Receive, Refusal | None]:
        """Answer 403 insufficient_scope before a call whose tool needs scopes the token lacks.

        Only when some rule asks for scopes and the caller holds a token: the body is read here
        and replayed to the edge unchanged. The policy hook refuses such calls anyway; this gives
        HTTP clients the challenge they can step up on.
        """
        messages, body = await _read_body(receive, self._max_body)
        replay = _replaying(messages, receive)
        name = _called_name(body) if body is not None else None
        if name is None:
            return replay, None
        decision = self._policy.decide(principal, name)
        if decision.allowed or not decision.needed_scopes:
            return replay, None
        return replay, Refusal(
            403, decision.reason, "oauth", "insufficient_scope", decision.needed_scopes, principal.name
        )

    # -- answers ---------------------------------------------------------------------------------

    async def _refuse(self, scope: Scope, send: Send, refusal: Refusal) -> None:
        fields = {
            "reason": refusal.reason,
            "credential_type": refusal.credential,
            "principal": refusal.principal,
            "key_id": refusal.key_id,
            "required_scopes": list(refusal.needed) or None,
            "http_status": refusal.status,
            **_request_fields(scope),
        }
        if refusal.status == 403:
            self._audit.record("auth.denied", **fields)
        elif self._failures is not None:
            client = scope.get("client")
            self._failures.record(str(client[0]) if client else None, fields)
        else:
            self._audit.record("auth.failure", **fields)
        challenge = self._resource.challenge(
            scope,
            error=refusal.error,
            description=refusal.reason if refusal.error else None,
            needed=refusal.needed,
        )
        title = "Forbidden" if refusal.status == 403 else "Unauthorized"
        code = codes.FORBIDDEN if refusal.status == 403 else codes.INVALID_REQUEST
        body = error(None, code, f"{title}: {refusal.reason}")
        await send_json(
            send, refusal.status, body, [(b"www-authenticate", challenge), (b"cache-control", b"no-store")]
        )

    async def _metadata(self, scope: Scope, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await send_json(send, 405, error(None, codes.INVALID_REQUEST, "use GET"), [(b"allow", b"GET")])
            return
        await send_json(send, 200, self._resource.metadata(scope))


def _presented(headers: list[tuple[bytes, bytes]]) -> tuple[bytes | None, bool]:
    """The header value that carries the credential, and whether it is Authorization's (which
    wins over X-API-Key); None when there is neither."""
    api_key = None
    for name, value in headers:
        if name == b"authorization":
            return value, True  # the first one: the rest need no look
        if name == b"x-api-key" and api_key is None:
            api_key = value
    return api_key, False


def _request_fields(scope: Scope) -> dict[str, Any]:
    client = scope.get("client")
    agent = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"user-agent"), "")
    return {
        "client": f"{client[0]}:{client[1]}" if client else None,
        "user_agent": agent or None,
        "http_method": scope["method"],
        "path": scope["path"],
    }


async def _read_body(receive: Receive, limit: int) -> tuple[list[ASGIMessage], bytes | None]:
    """Every message of the request body, and the body unless it is over `limit` (the edge refuses that)."""
    messages: list[ASGIMessage] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        size += len(message.get("body", b""))
        if size > limit:
            return messages, None
        if not message.get("more_body"):
            return messages, b"".join(m.get("body", b"") for m in messages)


def _replaying(messages: list[ASGIMessage], receive: Receive) -> Receive:
    pending = deque(messages)

    async def replay() -> ASGIMessage:
        return pending.popleft() if pending else await receive()

    return replay


def _called_name(body: bytes) -> str | None:
    """The tool, prompt or resource a request would reach, as the policy names it."""
    try:
        msg = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    params = msg.get("params") if isinstance(msg, dict) else None
    if not isinstance(params, dict):
        return None
    method = msg.get("method")
    value: Any = None
    if method in ("tools/call", "prompts/get"):
        value = params.get("name")
    elif method == "resources/read":
        value = params.get("uri")
    elif method == "completion/complete":
        ref = params.get("ref")
        if isinstance(ref, dict):
            value = ref.get("name") or ref.get("uri")
    return value if isinstance(value, str) else None
