"""The per-request context handed to handlers: era, capabilities, progress, logging, asking the client."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING

from mcpctl.demo.errors import InputRequired, McpError, MissingCapabilityError
from mcpctl.demo.wire import (
    CLIENT_CAPABILITY_FOR,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    LEGACY,
    LEGACY_VERSIONS,
    LOG_LEVELS,
    META_CLIENT_CAPABILITIES,
    META_INPUT_KEY,
    META_LOG_LEVEL,
    META_PROTOCOL_VERSION,
    MODERN,
    MRTR_METHODS,
    Era,
    JsonObject,
    Request,
    RequestId,
)

if TYPE_CHECKING:
    from mcpctl.demo.server import Server


class Context:
    """What a handler may know and do: era, client capabilities, progress, logging, asking the client."""

    def __init__(self, server: Server, request: Request, era: Era) -> None:
        self.server = server
        self.request = request
        self.era = era
        self.done = False  # set once the response is written; later progress/logs are dropped
        meta = request.params.get("_meta")
        self.meta: JsonObject = meta if isinstance(meta, dict) else {}
        if era is MODERN:
            self.protocol_version: str = self.meta[META_PROTOCOL_VERSION]
            self.client_capabilities: JsonObject = self.meta[META_CLIENT_CAPABILITIES]
            self.log_level: str | None = self.meta.get(META_LOG_LEVEL)
        else:
            session = server.session
            self.protocol_version = session.version or LEGACY_VERSIONS[0]
            self.client_capabilities = session.client_capabilities
            self.log_level = session.log_level
        self.request_state: str | None = None  # a verified requestState from the client (modern)
        self._answers: JsonObject = {}  # input responses available to ask() (modern)
        self._consumed: JsonObject = {}  # answers ask() has returned during this execution
        self._ask_counts: dict[str, int] = {}

    @property
    def request_id(self) -> RequestId:
        return self.request.id

    def supports(self, capability: str, mode: str | None = None) -> bool:
        """Whether the client declared a capability; `mode` picks an elicitation mode (form or url)."""
        declared = self.client_capabilities.get(capability)
        if not isinstance(declared, dict):
            return False
        if capability == "elicitation" and mode is not None:
            # An empty elicitation object means form mode only (2025-11-25 backward compatibility).
            return mode in declared or (mode == "form" and "url" not in declared)
        return True

    def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        """Send notifications/progress if the request carried a progressToken."""
        token = self.meta.get("progressToken")
        if self.done or not isinstance(token, str | int) or isinstance(token, bool):
            return
        params: JsonObject = {"progressToken": token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        self.server.send_notification("notifications/progress", params)

    def log(self, level: str, data: object, logger: str | None = None) -> None:
        """Send notifications/message when the level passes the client's threshold."""
        if level not in LOG_LEVELS:
            raise ValueError(f"unknown log level {level!r}")
        # Modern: only requests that opted in via _meta logLevel get logs (2026-07-28 logging).
        if self.done or self.log_level is None or LOG_LEVELS.index(level) < LOG_LEVELS.index(self.log_level):
            return
        params: JsonObject = {"level": level, "data": data}
        if logger is not None:
            params["logger"] = logger
        self.server.send_notification("notifications/message", params)

    async def ask(self, method: str, params: JsonObject, *, key: str | None = None) -> JsonObject:
        """Ask the client (sampling, elicitation, roots) and return its result.

        Legacy: a real server->client request. Modern: raises InputRequired until the client retries
        with the answer; earlier answers ride along in the signed requestState.
        """
        if key is None:
            count = self._ask_counts[method] = self._ask_counts.get(method, 0) + 1
            key = f"{method.partition('/')[0]}_{count}"
        answers = await self.ask_all({key: (method, params)})
        return answers[key]

    async def ask_all(self, requests: Mapping[str, tuple[str, JsonObject]]) -> dict[str, JsonObject]:
        """Ask several questions at once; keys name them in inputRequests/inputResponses."""
        for method, params in requests.values():
            self._require_capability(method, params)
        if self.era is LEGACY:
            answers = await self._ask_legacy(requests)
        else:
            if self.request.method not in MRTR_METHODS:
                raise McpError(INTERNAL_ERROR, f"{self.request.method} cannot ask the client for input")
            missing = {
                key: {"method": method, "params": params}
                for key, (method, params) in requests.items()
                if key not in self._answers
            }
            if missing:
                raise InputRequired(missing, self.server.sealer.seal(self.request, self._consumed))
            answers = {key: self._answers[key] for key in requests}
            self._consumed.update(answers)
        for key, (method, _) in requests.items():
            _check_client_result(method, key, answers[key])
        return answers

    async def _ask_legacy(self, requests: Mapping[str, tuple[str, JsonObject]]) -> dict[str, JsonObject]:
        outcomes = await asyncio.gather(
            *(
                self.server.request_client(method, _with_key(params, key))
                for key, (method, params) in requests.items()
            ),
            return_exceptions=True,
        )
        answers: dict[str, JsonObject] = {}
        for key, outcome in zip(requests, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                raise outcome
            answers[key] = outcome
        return answers

    def _require_capability(self, method: str, params: JsonObject) -> None:
        capability = CLIENT_CAPABILITY_FOR.get(method)
        if capability is None:
            raise ValueError(f"{method} is not a server->client request")
        mode = str(params.get("mode", "form")) if capability == "elicitation" else None
        if not self.supports(capability, mode):
            raise MissingCapabilityError({capability: {mode: {}} if mode == "url" else {}})

    def load_input(self) -> None:
        """Modern MRTR retry: validate inputResponses and requestState and collect the answers."""
        params = self.request.params
        responses = params.get("inputResponses", {})
        if not isinstance(responses, dict):
            raise McpError(INVALID_PARAMS, "inputResponses must be an object")
        for key, value in responses.items():
            if not isinstance(value, dict):
                raise McpError(INVALID_PARAMS, f"inputResponses[{key!r}] must be an object")
        state_answers: JsonObject = {}
        if "requestState" in params:
            state = params["requestState"]
            if not isinstance(state, str):
                raise McpError(INVALID_PARAMS, "requestState must be a string")
            state_answers = self.server.sealer.open(self.request, state)
            self.request_state = state
        # Answers from the signed state win: they were already consumed by an earlier round.
        self._answers = {**responses, **state_answers}


def _with_key(params: JsonObject, key: str) -> JsonObject:
    """The question's params with its key as a hint, so that a bridge asks under the same key."""
    meta = params.get("_meta")
    return {**params, "_meta": {**(meta if isinstance(meta, dict) else {}), META_INPUT_KEY: key}}


def _check_client_result(method: str, key: str, result: JsonObject) -> None:
    """Reject a malformed answer instead of letting the handler trip over it."""
    problem = None
    if method == "elicitation/create" and result.get("action") not in ("accept", "decline", "cancel"):
        problem = "action must be accept, decline or cancel"
    elif method == "sampling/createMessage" and not isinstance(result.get("content"), dict | list):
        problem = "content is missing"
    elif method == "roots/list" and not isinstance(result.get("roots"), list):
        problem = "roots must be an array"
    if problem:
        raise McpError(INVALID_PARAMS, f"Malformed {method} result for {key!r}: {problem}")
