"""`mcpctl deploy container`: a Dockerfile for one instance, built from the mcpctl source tree."""

from __future__ import annotations

import json

from mcpctl import envvars
from mcpctl.cli.deploy.facts import CONTAINER_CONFIG, CONTAINER_HOME, CONTAINER_UID, Facts
from mcpctl.edge.routes import HEALTH_PATH

BASE_IMAGE = "python:3.12-slim"
# Programs the image gets for the servers that are started with them (anything else: add it yourself).
_NODE = frozenset({"npx", "node", "npm"})
_UV = frozenset({"uvx", "uv"})


def healthcheck_command(port: int) -> list[str]:
    """The image's health check: the slim image has no curl, so Python asks /health."""
    probe = (
        "import sys, urllib.request; "
        f"sys.exit(urllib.request.urlopen('http://127.0.0.1:{port}{HEALTH_PATH}', timeout=2).status != 200)"
    )
    return ["python", "-c", probe]


def render(facts: Facts) -> str:
    launchers = facts.launchers()
    others = sorted(n for n in launchers - _NODE - _UV if not n.startswith("python") and n != "mcpctl")
    keys = ", ".join(f"${name}" for name in facts.secret_env()[1:])
    lines = [
        "# syntax=docker/dockerfile:1",
        "# One `mcpctl serve` instance in a container.",
        f"# Rendered by `mcpctl deploy container` ({facts.origin}).",
        "# Build it from the root of the mcpctl source tree (pyproject.toml and mcpctl/ beside it):",
        f"#   mcpctl deploy container > Dockerfile && docker build -t mcpctl:{facts.version} .",
        "# mcpctl is installed from that source: the name `mcpctl` on PyPI belongs to another project.",
        "# The configuration is mounted at run time, not baked in:",
        f"#   docker run -p {facts.port}:{facts.port} -v $PWD/mcpctl.toml:{CONTAINER_CONFIG}:ro \\",
        f"#     -e {envvars.STATE_URL}=redis://redis:6379/0 -e {envvars.FLEET_KEYS}=... \\",
        f"#     mcpctl:{facts.version}",
        f"FROM {BASE_IMAGE}",
    ]
    if launchers & _NODE:
        lines += [
            f"# for the servers started with {', '.join(sorted(launchers & _NODE))}",
            "RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm "
            "&& rm -rf /var/lib/apt/lists/*",
        ]
    if launchers & _UV:
        lines += [
            f"# for the servers started with {', '.join(sorted(launchers & _UV))}",
            "RUN pip install --no-cache-dir uv",
        ]
    if others:
        lines.append(f"# install what these servers' commands need: {', '.join(others)}")
    if absolute := facts.absolute_commands():
        lines.append(f"# these commands are paths on the machine this was rendered on: {', '.join(absolute)}")
    lines += [
        "COPY pyproject.toml README.md /src/",
        "COPY mcpctl /src/mcpctl",
        'RUN pip install --no-cache-dir "/src[redis]" && rm -rf /src',
        f"RUN useradd --system --uid {CONTAINER_UID} --user-group --create-home mcpctl \\",
        f"    && mkdir -p {CONTAINER_HOME} && chown {CONTAINER_UID}:{CONTAINER_UID} {CONTAINER_HOME}",
        f"USER {CONTAINER_UID}",
        "# state, logs and the audit trail; a volume keeps them across restarts",
        f"ENV {envvars.HOME}={CONTAINER_HOME}",
        f"EXPOSE {facts.port}",
        "HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 "
        f"CMD {json.dumps(healthcheck_command(facts.port))}",
        f"# In a fleet, serve reads ${envvars.STATE_URL} (its --state) and {keys};",
        "# without them it serves alone, its sessions in memory.",
        f"CMD {json.dumps(facts.serve_command())}",
    ]
    return "\n".join(lines) + "\n"
