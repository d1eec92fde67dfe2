"""Which server a client command talks to: the running host, --url, --server NAME or -- COMMAND."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from mcpctl import envvars
from mcpctl.backends.base import MessageSink, Transport
from mcpctl.client.credentials import ApiKeyCredentials, KeyChoice, Notes, choose_key, credentials_for
from mcpctl.client.hostapi import find_host, require_host, servers_report
from mcpctl.client.session import Endpoint
from mcpctl.errors import AuthError, McpctlError, UnavailableError, UsageError
from mcpctl.hoststate import HostState
from mcpctl.paths import Paths
from mcpctl.protocol.naming import SEPARATOR

if TYPE_CHECKING:
    from mcpctl.config.models import Config, ServerConfig

HTTP_PROBE_TIMEOUT = 30.0


@dataclass(frozen=True)
class TargetOptions:
    """The target flags of a client command, as given."""

    url: str | None = None
    server: str | None = None
    command: Sequence[str] = ()
    config: Path | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    key: str | None = None  # --key NAME: the local API key to present


@dataclass(frozen=True)
class Target:
    """A resolved target: how to connect, and how names there map to the names a person types."""

    endpoint: Endpoint
    host: HostState | None = None  # set when the request goes through the running host
    server: str | None = None  # --server NAME
    # Through the host, a server's tools carry its prefix: None means "find out from the names".
    prefix: str | None = None
    other_prefixes: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()  # the command-line flags that choose this target, for fix lines

    def command(self, *words: str) -> str:
        """`mcpctl WORDS` aimed at this same target, as a person can paste it."""
        import shlex

        return shlex.join(["mcpctl", *words, *self.flags])

    @property
    def scoped(self) -> bool:
        """Whether names are one server's, seen through the host's aggregated (prefixed) view."""
        return self.host is not None and self.server is not None

    def names(self, exposed: Sequence[str]) -> dict[str, str]:
        """The names a person uses -> the names on the wire (identical unless scoped)."""
        server = self.server
        if self.host is None or server is None:
            return {name: name for name in exposed}
        prefix = self.prefix
        if prefix is None:  # a host without a config file: a bridge (no prefix) or the demo
            prefix = server if any(n.startswith(server + SEPARATOR) for n in exposed) else ""
        if prefix:
            head = prefix + SEPARATOR
            return {name[len(head) :]: name for name in exposed if name.startswith(head)}
        others = tuple(p + SEPARATOR for p in self.other_prefixes if p)
        return {name: name for name in exposed if not others or not name.startswith(others)}


def resolve(
    options: TargetOptions, paths: Paths, notes: Notes, environ: Mapping[str, str] | None = None
) -> Target:
    env = os.environ if environ is None else environ
    where = _Where(env, notes, choose_key(paths, options.key, env))
    given = [
        flag
        for flag, value in (
            ("--url", options.url),
            ("--server", options.server),
            ("-- COMMAND", options.command),
        )
        if value
    ]
    if len(given) > 1:
        raise UsageError(f"give only one of {' / '.join(given)}")
    return replace(_resolve(options, paths, where), flags=_flags(options))


def _flags(options: TargetOptions) -> tuple[str, ...]:
    if options.command:
        return ("--", *options.command)
    if options.url:
        return ("--url", options.url)
    if options.server:
        return ("--server", options.server)
    return ()


def _resolve(options: TargetOptions, paths: Paths, where: _Where) -> Target:
    env = where.environ
    if options.command:
        return Target(command_endpoint(list(options.command)))
    if options.url:
        return Target(http_endpoint(options.url, options.url, where, options.headers))
    if options.server:
        return _server_target(options.server, options, paths, where)
    if env.get(envvars.URL):
        return Target(http_endpoint(env[envvars.URL], env[envvars.URL], where, options.headers))
    host = require_host(paths)
    return Target(host_endpoint(host, where), host=host)


@dataclass(frozen=True)
class _Where:
    """What every endpoint of one command shares: the environment, the console, the key choice."""

    environ: Mapping[str, str]
    notes: Notes
    key: KeyChoice


def host_endpoint(host: HostState, where: _Where) -> Endpoint:
    # A legacy session: through it the host can relay both a legacy server's requests
    # (elicitation, roots, sampling) and a 2026-07-28 server's input_required rounds.
    return http_endpoint(f"the mcpctl host at {host.url}", host.url, where, {}, era="legacy")


def http_endpoint(
    label: str,
    url: str,
    where: _Where,
    headers: Mapping[str, str],
    *,
    era: Literal["auto", "legacy", "modern"] = "auto",
    mode: Literal["auto", "streamable-http", "sse"] = "auto",
) -> Endpoint:
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"{url!r} is not an http:// or https:// URL")
    credentials = credentials_for(url, where.environ, where.notes, where.key)
    static = dict(headers)

    def make(sink: MessageSink) -> Transport:
        from mcpctl.backends.http import HttpTransport

        return HttpTransport(url, sink, headers=static, auth=credentials, mode=mode)

    # An HTTP server answers an unknown method (with an error, at worst); only a slow one stays
    # quiet for long, so the probe waits far longer than a silent stdio child is given.
    return Endpoint(label, make, era=era, probe_timeout=HTTP_PROBE_TIMEOUT, credentials=credentials)


def command_endpoint(command: list[str], label: str | None = None) -> Endpoint:
    """-- COMMAND ARGS: a stdio server started for this one command, with the caller's environment.

    Unlike the host's children (an allow-list), it inherits everything: the person typed the
    command in their own shell, as they would run any other program.
    """
    from mcpctl.config.sources import derive_name

    def make(sink: MessageSink) -> Transport:
        from mcpctl.backends.stdio import StdioSpec, StdioTransport

        spec = StdioSpec(
            command=command[0], args=tuple(command[1:]), inherit_env=tuple(os.environ), shutdown_timeout=2.0
        )
        return StdioTransport(spec, sink)

    return Endpoint(label or f"server {derive_name(command)!r}", make)


def _server_target(name: str, options: TargetOptions, paths: Paths, where: _Where) -> Target:
    host = find_host(paths)
    if host is not None:
        served = [s.get("name") for s in servers_report(host).get("servers", []) if isinstance(s, dict)]
        if name in served:
            prefix, others = _host_prefixes(host, name, [s for s in served if isinstance(s, str)])
            return Target(
                host_endpoint(host, where), host=host, server=name, prefix=prefix, other_prefixes=others
            )
    config = _load_config(options.config, paths)
    server = config.servers.get(name) if config is not None else None
    if server is None:
        known = sorted(config.servers) if config is not None else []
        source = "the running host or the configuration" if host is not None else "the configuration"
        from mcpctl.client.arguments import suggest

        close = suggest(name, known)
        if close:
            hint = f"did you mean {', '.join(close)}?"
        elif known:
            hint = f"configured servers: {', '.join(known)}"
        else:
            hint = "add it to mcpctl.toml (see `mcpctl config path`)"
        raise UsageError(f"no server named {name!r} in {source}", hint=hint)
    return Target(_configured_endpoint(name, server, where), server=name)


def _configured_endpoint(name: str, server: ServerConfig, where: _Where) -> Endpoint:
    """A configured server started (or reached) directly, as the host would, for one command."""
    label = f"server {name!r}"
    if server.url or not server.command:
        url = server.url or ""
        return http_endpoint(label, url, where, server.headers, era=server.era, mode=server.transport)
    command = server.command

    def make(sink: MessageSink) -> Transport:
        from mcpctl.backends.stdio import StdioSpec, StdioTransport

        spec = StdioSpec(
            command=command,
            args=tuple(server.args),
            env=dict(server.env),
            inherit_env=tuple(server.inherit_env),
            cwd=server.cwd,
            max_line_bytes=server.max_line_bytes,
            shutdown_timeout=min(server.shutdown_timeout, 2.0),  # one command: do not linger
        )
        return StdioTransport(spec, sink)

    return Endpoint(label, make, era=server.era, probe_timeout=server.probe_timeout)


def _host_prefixes(host: HostState, name: str, served: list[str]) -> tuple[str | None, tuple[str, ...]]:
    """The prefix of `name` on the host, and the other servers' (from the host's config file)."""
    if not host.config:
        return None, ()
    try:
        config = _load_config(Path(host.config), None)
    except UsageError:
        return None, ()
    if config is None or name not in config.servers:
        return None, ()
    others = tuple(config.prefix_of(s) for s in served if s != name and s in config.servers)
    return config.prefix_of(name), others


def _load_config(option: Path | None, paths: Paths | None) -> Config | None:
    from mcpctl.config.loader import load_config
    from mcpctl.config.sources import config_path

    path = option if paths is None else config_path(option, paths)
    if path is None:
        return None
    if not path.exists():
        if option is not None:
            raise UsageError(f"{path}: no such configuration file")
        return None
    return load_config(path)


def explain_refusal(exc: AuthError, target: Target) -> McpctlError:
    """A refusal said in full: which local API key was sent, or why none could be (then exit 3 with
    the keyring's fix); for the host, a fix about API keys (it has no OAuth login to offer)."""
    credentials = target.endpoint.credentials
    if not isinstance(credentials, ApiKeyCredentials) or "requires authentication" not in exc.message:
        return exc
    choice = credentials.choice
    named = f" {choice.name!r}" if choice.name else ""
    if credentials.problem is not None:
        problem = credentials.problem
        return UnavailableError(
            f"{exc.message}\n  the local API key{named} could not be read: {problem.message}",
            hint=problem.hint or f"set {envvars.API_KEY} to a key it accepts",
        )
    if target.host is None:
        return exc
    if credentials.sent:
        return AuthError(
            f"{exc.message} (API key{named} was refused)",
            hint="see `mcpctl keys list`"
            + (f"; `mcpctl keys rotate {choice.name}` makes a new key for it" if choice.name else ""),
        )
    return AuthError(
        exc.message,
        hint=f"create a key for local commands with `mcpctl keys create me`, or set {envvars.API_KEY}",
    )
