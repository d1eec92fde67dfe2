"""The running host: found through its state file; its admin API (servers, restart) over HTTP."""

from __future__ import annotations

from typing import Any

from mcpctl.errors import AuthError, UnavailableError, UsageError
from mcpctl.hoststate import HostState, read_host_state
from mcpctl.paths import Paths

ADMIN_TIMEOUT = 5.0


def find_host(paths: Paths) -> HostState | None:
    """The host that runs for this MCPCTL_HOME (or user), if any."""
    return read_host_state(paths.host_state_file)


CHOOSE_ANOTHER = "start one with `mcpctl serve`, or choose a server: --url URL, --server NAME or -- COMMAND"


def require_host(paths: Paths, hint: str = CHOOSE_ANOTHER) -> HostState:
    """The running host, or exit 3 with `hint` (the default suits commands that take --url and co.)."""
    state = find_host(paths)
    if state is None:
        raise UnavailableError("no mcpctl host is running", hint=hint)
    return state


def admin(state: HostState, method: str, path: str, *, timeout: float = ADMIN_TIMEOUT) -> Any:
    """One admin API call; returns the JSON body. Maps failures to exit codes 3 and 4."""
    import httpx

    url = state.base_url + path
    try:
        response = httpx.request(
            method, url, headers={"authorization": f"Bearer {state.admin_token}"}, timeout=timeout
        )
    except httpx.HTTPError as exc:
        raise UnavailableError(
            f"the mcpctl host (pid {state.pid}) does not answer at {state.base_url}: {exc}"
        ) from exc
    if response.status_code in (401, 403):
        raise AuthError(
            f"the mcpctl host refused its admin token (HTTP {response.status_code})",
            hint="the state file may belong to another host; restart `mcpctl serve`",
        )
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 404:
        message = body.get("error", {}).get("message") if isinstance(body, dict) else None
        raise UsageError(str(message or f"{path}: not found"))
    if response.status_code >= 400:
        raise UnavailableError(f"the mcpctl host answered HTTP {response.status_code} to {method} {path}")
    return body


def servers_report(state: HostState) -> dict[str, Any]:
    report = admin(state, "GET", "/admin/servers")
    return report if isinstance(report, dict) else {"servers": []}
