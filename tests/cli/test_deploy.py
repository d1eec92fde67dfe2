"""`mcpctl deploy`: what it prints for a configuration, what it refuses, and nginx's own verdict on it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mcpctl import envvars
from mcpctl.cli.deploy.facts import serve_flag
from mcpctl.config.models import StateConfig
from mcpctl.fleet.keys import fleet_keys
from tests.cli.conftest import run_mcpctl
from tests.fleet.conftest import fleet_key


def config(home: Path, text: str) -> str:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "mcpctl.toml"
    path.write_text(text)
    return str(path)


def nginx_accepts(tmp_path: Path, site: str) -> None:
    """`nginx -t` on the site inside a minimal main configuration."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    (prefix / "mcpctl.conf").write_text(site)
    (prefix / "nginx.conf").write_text(
        f"pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\nevents {{}}\n"
        f"http {{ access_log off; include {prefix}/mcpctl.conf; }}\n"
    )
    check = subprocess.run(
        [binary, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr


def test_serve_flags_are_read_from_the_serve_command(home: Path) -> None:
    help_text = run_mcpctl(home, "serve", "--help").stdout
    for parameter in ("config", "host", "port", "state", "allow_unauthenticated"):
        assert serve_flag(parameter) in help_text


def test_nginx_for_n_instances_from_the_configured_port(home: Path, tmp_path: Path) -> None:
    path = config(
        home,
        "[gateway]\nport = 9100\nmax_body_bytes = 2048\n[servers.a]\ncommand = 'x'\n"
        "max_call_timeout = '3h'\n",
    )
    done = run_mcpctl(home, "deploy", "nginx", "--config", path, "--instances", "3", "--listen", "8080")
    assert done.returncode == 0, done.stderr
    site = done.stdout
    for port in (9100, 9101, 9102):
        assert f"server 127.0.0.1:{port} max_fails=1" in site
    assert "client_max_body_size 2048;" in site
    assert "proxy_read_timeout 10860s;" in site  # the longest call (3 h) and a minute: past 1 h
    assert "proxy_next_upstream error timeout;" in site
    assert "non_idempotent;" not in site
    assert "listen 8080;" in site
    nginx_accepts(tmp_path, site)


def test_nginx_with_upstreams_given_ipv6_included(home: Path, tmp_path: Path) -> None:
    done = run_mcpctl(
        home, "deploy", "nginx", "-u", "10.0.0.5:8765", "-u", "[::1]:8765", "--listen", "[::1]:8443"
    )
    assert done.returncode == 0, done.stderr
    assert "server 10.0.0.5:8765 max_fails" in done.stdout
    assert "server [::1]:8765 max_fails" in done.stdout
    nginx_accepts(tmp_path, done.stdout)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--upstream", "no-port"], "is not HOST:PORT"),
        (["--upstream", "8765"], "has no host"),
        (["--upstream", "a:1", "--instances", "2"], "not both"),
        (["--listen", "99999"], "is not HOST:PORT"),
        (["--listen", "x; evil"], "is not HOST:PORT"),
    ],
)
def test_nginx_refuses_what_nginx_could_not_take(home: Path, args: list[str], message: str) -> None:
    done = run_mcpctl(home, "deploy", "nginx", *args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_container_gets_the_runtimes_its_servers_are_started_with(home: Path) -> None:
    path = config(
        home,
        "[auth]\nmode = 'api-key'\n[servers.a]\ncommand = 'npx'\n[servers.b]\ncommand = 'uvx'\n"
        "[servers.c]\ncommand = '/opt/tool/bin/thing'\n",
    )
    done = run_mcpctl(home, "deploy", "container", "--config", path)
    assert done.returncode == 0, done.stderr
    assert "apt-get install -y --no-install-recommends nodejs npm" in done.stdout
    assert "RUN pip install --no-cache-dir uv" in done.stdout
    assert "install what these servers' commands need: thing" in done.stdout
    assert "paths on the machine this was rendered on: /opt/tool/bin/thing" in done.stdout
    assert "--allow-unauthenticated" not in done.stdout  # authentication is on


def test_the_fleet_keys_variables_follow_the_configuration(home: Path) -> None:
    path = config(
        home, "[auth]\nmode = 'api-key'\n[state]\nkeys = ['${env:FLEET_NEW}', '${env:FLEET_OLD}']\n"
    )
    done = run_mcpctl(home, "deploy", "kubernetes", "--config", path)
    assert done.returncode == 0, done.stderr
    [container] = next(yaml.safe_load_all(done.stdout))["spec"]["template"]["spec"]["containers"]
    names = [entry["name"] for entry in container["env"]]
    assert names == [envvars.STATE_URL, "FLEET_NEW", "FLEET_OLD"]
    # ...which are the variables the fleet reads its keys from
    environ = {"FLEET_NEW": fleet_key(), "FLEET_OLD": fleet_key()}
    state = StateConfig(keys=["${env:FLEET_NEW}", "${env:FLEET_OLD}"])
    assert fleet_keys(state, environ, lambda _: None) is not None
    # API keys: the hashes reach the pods from a Secret, where serve looks for them
    assert {
        "name": "api-keys",
        "mountPath": "/var/lib/mcpctl/state/api-keys.json",
        "subPath": "api-keys.json",
        "readOnly": True,
    } in container["volumeMounts"]
    # ...which a running pod never sees change: the manifest says how a revocation reaches it
    assert "# `kubectl rollout restart deployment/mcpctl`: Kubernetes never refreshes" in done.stdout


def test_allowed_hosts_put_a_host_header_on_the_probes(home: Path) -> None:
    path = config(
        home,
        "[gateway]\nallowed_hosts = ['mcp.internal:8765']\n[auth]\nmode = 'oauth'\n"
        "issuer = 'https://id.example.com'\n",
    )
    done = run_mcpctl(home, "deploy", "kubernetes", "--config", path)
    assert done.returncode == 0, done.stderr
    [container] = next(yaml.safe_load_all(done.stdout))["spec"]["template"]["spec"]["containers"]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["httpHeaders"] == [{"name": "Host", "value": "mcp.internal:8765"}]


@pytest.mark.parametrize(
    ("toml", "args", "message"),
    [
        ("", [], "--allow-unauthenticated"),
        ("[gateway]\nport = 0\n[auth]\nmode = 'api-key'\n", [], "needs a fixed one"),
        ("[auth]\nmode = 'api-key'\n[state]\nkeys = ['${keyring:fleet}']\n", [], "has no keyring"),
        ("[auth]\nmode = 'api-key'\n", ["--replicas", "5", "--max-replicas", "2"], "do not fit"),
    ],
)
def test_kubernetes_refuses_what_could_not_run(home: Path, toml: str, args: list[str], message: str) -> None:
    done = run_mcpctl(home, "deploy", "kubernetes", "--config", config(home, toml), *args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert message in done.stderr


def test_keyring_secrets_of_servers_are_warned_about_on_stderr(home: Path) -> None:
    path = config(
        home,
        "[auth]\nmode = 'api-key'\n[servers.gh]\ncommand = 'npx'\nenv = { T = '${keyring:gh_token}' }\n",
    )
    done = run_mcpctl(home, "deploy", "container", "--config", path)
    assert done.returncode == 0
    assert "gh_token" in done.stderr and "no keyring" in done.stderr
    assert done.stdout.startswith("# syntax=docker/dockerfile:1\n")  # stdout stays a Dockerfile
