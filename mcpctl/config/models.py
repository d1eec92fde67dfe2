"""The configuration schema: frozen pydantic models that refuse unknown fields."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from mcpctl.config.access import AuthConfig, LimitsConfig, PolicyRule
from mcpctl.config.fields import Duration, FrozenModel
from mcpctl.protocol.naming import is_valid_prefix

SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
PLACEMENTS = ("every", "one")  # where a server runs in a fleet
# VS Code's prompt for a value (`${input:token}`): a client feature mcpctl has no way to show.
INPUT_REFERENCE = re.compile(r"\$\{input:([^}]*)\}")


# a server's children: one for every client, or one per 2025-era session
Isolation = Literal["shared", "session"]
ISOLATIONS: tuple[Isolation, ...] = ("shared", "session")


class RestartPolicy(FrozenModel):
    """How the supervisor restarts a crashed child."""

    mode: Literal["always", "on-failure", "never"] = "always"
    initial_backoff: Duration = 0.5
    max_backoff: Duration = 30.0
    # this many failures inside `window` seconds puts the server into crash-loop
    max_failures: int = Field(default=5, ge=1)
    window: Duration = 60.0
    # after this long up, a child counts as healthy again and the backoff starts over
    reset_after: Duration = 30.0
    # a crash-looping server is tried again after this long (or at once by `mcpctl servers restart`)
    crash_loop_cooldown: Duration = 300.0


class ReconnectPolicy(FrozenModel):
    """How the supervisor treats a remote server (`url`) that cannot be reached or whose connection
    dropped: an outage, not a crash. It is retried at this pace for as long as it lasts (never a
    crash loop), and its tools stay listed meanwhile (calls are answered with the cause)."""

    initial_backoff: Duration = 0.5
    max_backoff: Duration = 5.0
    # a connection nothing used for this long is checked (any HTTP answer will do), so an outage
    # shows in /ready before a call fails; 0 turns the check off
    health_interval: Duration = 10.0


class BreakerConfig(FrozenModel):
    """A per-server circuit breaker: fail fast while a backend keeps failing."""

    enabled: bool = True
    # consecutive failures (errors from the transport, timeouts) that open the breaker
    failures: int = Field(default=5, ge=1)
    # how long it stays open before letting one probe call through (half-open)
    open_for: Duration = 30.0


class ServerConfig(FrozenModel):
    """One MCP server: a stdio command to supervise, or a remote URL."""

    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    # extra variable names passed through from mcpctl's own environment (beyond the allow-list)
    inherit_env: list[str] = Field(default_factory=list)
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    transport: Literal["auto", "streamable-http", "sse"] = "auto"
    auth: Literal["none", "oauth"] = "none"
    prefix: str | None = None
    required: bool = True
    enabled: bool = True
    isolation: Isolation = "shared"
    # in a fleet (`[state] url`): "every" instance runs its own child, or only "one" does (a server
    # that keeps state in its process) and the others forward its calls there; alone, ignored
    placement: str = "every"
    # what a roots/list the server asks outside any call is answered (none: refused, so that it
    # asks again during a call, where the calling client answers)
    roots: list[str] | None = None
    # how long a 2026-07-28 client has to come back with the input a 2025-era server asked for; an
    # unanswered round keeps the call open that long (and, on a shared child, calls that could be asked)
    input_ttl: Duration = Field(default=50.0, gt=0)
    # "auto" probes server/discover and falls back to initialize; pin it to skip the probe
    era: Literal["auto", "legacy", "modern"] = "auto"
    # how long the server/discover probe waits before assuming a legacy server that stays silent
    probe_timeout: Duration = 3.0
    startup_timeout: Duration = 30.0
    # a call gets this long without a response or progress; progress notifications reset the clock
    call_timeout: Duration = 60.0
    # ...but never longer than this in total
    max_call_timeout: Duration = 600.0
    shutdown_timeout: Duration = 5.0
    max_line_bytes: int = Field(default=32 * 1024 * 1024, ge=64 * 1024)
    # stdio children only; remote servers follow `reconnect`
    restart: RestartPolicy = Field(default_factory=RestartPolicy)
    reconnect: ReconnectPolicy = Field(default_factory=ReconnectPolicy)
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)

    @model_validator(mode="after")
    def _one_transport(self) -> ServerConfig:
        if self.command and self.url:
            raise ValueError(
                "both `command` and `url` are set; keep `command` (a stdio server) or `url` (a remote one)"
            )
        if not self.command and not self.url:
            raise ValueError(
                'neither `command` (a stdio server) nor `url` (a remote server) is set; add command = "..." '
                '(with args = [...]) or url = "https://..."'
            )
        if self.placement == "one" and self.isolation == "session":
            raise ValueError(
                'placement = "one" and isolation = "session" do not go together (a session\'s own child runs '
                "where the session is served); drop one of them"
            )
        if self.url and not re.match(r"^https?://", self.url):
            raise ValueError(
                '`url` must start with http:// or https://; write it in full, e.g. "https://example.com/mcp"'
            )
        return self

    @field_validator("placement")
    @classmethod
    def _placement(cls, value: str) -> str:
        if value not in PLACEMENTS:
            raise ValueError(
                f'placement {value!r} is not known; write placement = "one" (one instance of a fleet runs '
                'the server, the others forward to it) or "every" (the default: each instance its own)'
            )
        return value

    @field_validator("command", "args", "env", "cwd", "url", "headers")
    @classmethod
    def _no_prompts(cls, value: Any) -> Any:
        texts = value.values() if isinstance(value, dict) else value if isinstance(value, list) else [value]
        for text in texts:
            found = INPUT_REFERENCE.search(text) if isinstance(text, str) else None
            if found:
                name = re.sub(r"[^A-Za-z0-9_.-]", "_", found.group(1)) or "secret"
                raise ValueError(
                    f"{found.group(0)} asks VS Code to prompt for a value, which mcpctl cannot do; "
                    f"store the value with `mcpctl secrets set {name}` and write ${{keyring:{name}}} instead"
                )
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix_shape(cls, value: str | None) -> str | None:
        if value is not None and not is_valid_prefix(value):
            suggestion = re.sub(r"[^A-Za-z0-9_-]", "_", value)[:32]
            raise ValueError(
                "a prefix may hold only letters, digits, '_' and '-' (at most 32); "
                f"use prefix = {suggestion!r}"
            )
        return value


class GatewayConfig(FrozenModel):
    """How `mcpctl serve` listens."""

    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    # POST bodies over this are refused with 413 and a JSON-RPC error
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # the request line and headers together; more gets 431 and the connection closed
    max_header_bytes: int = Field(default=64 * 1024, ge=1024)
    # header fields per request; more gets 431 and the connection closed
    max_headers: int = Field(default=100, ge=8)
    # a request's headers must arrive within this of the connection opening (or of the request's
    # first byte on a kept-alive connection), its body within body_timeout of the headers: else 408
    header_timeout: Duration = Field(default=10.0, gt=0)
    body_timeout: Duration = Field(default=60.0, gt=0)
    # extra Origin values allowed beyond the loopback ones (e.g. "https://app.example.com")
    allowed_origins: list[str] = Field(default_factory=list)
    # extra Host values allowed beyond the loopback ones (e.g. "mcp.internal:8765")
    allowed_hosts: list[str] = Field(default_factory=list)
    session_ttl: Duration = 3600.0
    # 2025-era sessions held at once: past either bound, the least recently used idle session
    # (of that caller, else anyone's) is ended to make room; initialize gets 429 if all are busy
    max_sessions: int = Field(default=10_000, ge=1)
    max_sessions_per_principal: int = Field(default=1_000, ge=1)
    shutdown_grace: Duration = 10.0
    page_size: int = Field(default=500, ge=1)
    allow_unauthenticated: bool = False


class AuditConfig(FrozenModel):
    """The audit trail: append-only JSONL under the log directory, hash-chained."""

    enabled: bool = True
    # argument and header keys whose values are replaced before anything is written, added to the
    # defaults (authorization, token, password, secret, api_key, ...); case and separators are ignored
    # and a key also matches when it ends with a name (`github_token` matches `token`)
    redact_keys: list[str] = Field(default_factory=list)
    # regular expressions whose matches are replaced in any string value, added to the defaults
    # (bearer tokens, mcpk_ API keys, JWTs, cloud and SaaS key formats, private keys)
    redact_patterns: list[str] = Field(default_factory=list)
    # the current file is rotated (renamed audit-<UTC time>.jsonl) before it grows past this
    max_file_bytes: int = Field(default=50 * 1024 * 1024, ge=4096)
    # rotated files older than this are deleted (0 keeps them forever)
    retention: Duration = 30 * 86400.0
    # records waiting for the writer; past this they are dropped and counted (audit.dropped records)
    queue_size: int = Field(default=10_000, ge=16)
    # about this many bytes of each call's output (and of its arguments) are kept, redacted
    output_summary_bytes: int = Field(default=1024, ge=0)
    arguments_bytes: int = Field(default=4096, ge=0)
    # also write each sealed record, as the JSON line it is, to standard output (for log collectors:
    # in a container or a Kubernetes pod, one stream carries every instance's trail)
    stdout: bool = False

    @field_validator("redact_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"redact pattern {pattern!r} is not a valid regular expression: {exc}"
                ) from None
        return patterns


class MetricsConfig(FrozenModel):
    enabled: bool = True


class StateConfig(FrozenModel):
    """Where a fleet of `mcpctl serve` instances keeps what they share (none: each its own, in memory)."""

    # redis://HOST:PORT/DB (also `serve --state` and $MCPCTL_STATE_URL)
    url: str | None = None
    # this instance's name in the fleet (default: the host name and a random part)
    instance: str | None = None
    # the fleet's shared keys, newest first (rotation: add the new key first, drop the old one after
    # its tokens expired); each "${env:NAME}" or "${keyring:NAME}" holding 32 random bytes, base64url.
    # Default: $MCPCTL_FLEET_KEYS (comma-separated), for containers, which have no keyring.
    keys: list[str] = Field(default_factory=list)
    # a session ends this long after it began, however busy
    session_max_age: Duration = 86400.0

    @field_validator("url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^rediss?://", value):
            raise ValueError('the state store is Redis: write url = "redis://HOST:PORT/DB"')
        return value


class Config(FrozenModel):
    """A whole configuration file."""

    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    servers: dict[str, ServerConfig] = Field(default_factory=dict)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    policy: list[PolicyRule] = Field(default_factory=list)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    state: StateConfig = Field(default_factory=StateConfig)

    @field_validator("servers")
    @classmethod
    def _server_names(cls, servers: dict[str, ServerConfig]) -> dict[str, ServerConfig]:
        # Checked on the field, not the model, so errors name `servers` rather than the top level.
        seen: dict[str, str] = {}
        for name, server in servers.items():
            suggestion = re.sub(r"[^A-Za-z0-9_.-]", "-", name).strip("-._")[:64] or "server"
            if not SERVER_NAME.match(name):
                raise ValueError(
                    f"server name {name!r} must start with a letter or digit and hold only letters, digits, "
                    f"'_', '.' and '-' (at most 64); rename it, e.g. [servers.{suggestion!r}]"
                )
            prefix = name if server.prefix is None else server.prefix
            if not is_valid_prefix(prefix):
                fixed = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:32]
                raise ValueError(
                    f"server {name!r} has no valid prefix: its name is used by default, but a prefix "
                    "may hold only letters, digits, '_' and '-'; "
                    f"set prefix = {fixed!r} in [servers.{name!r}]"
                )
            if prefix and prefix in seen:
                raise ValueError(
                    f"servers {seen[prefix]!r} and {name!r} share the prefix {prefix!r}; "
                    f"give [servers.{name!r}] another prefix"
                )
            seen[prefix] = name
        return servers

    def prefix_of(self, name: str) -> str:
        server = self.servers[name]
        return name if server.prefix is None else server.prefix

    def enabled_servers(self) -> dict[str, ServerConfig]:
        return {name: server for name, server in self.servers.items() if server.enabled}
