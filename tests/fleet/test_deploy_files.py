"""The Kubernetes manifests and the Dockerfile `mcpctl deploy` prints, checked against a running instance."""

from __future__ import annotations

import io
import json
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from dockerfile_parse import DockerfileParser

from mcpctl import envvars
from tests.fleet.conftest import ECHO, fleet_key
from tests.support.host import PYTHON, ROOT, base_env, mcpctl_command, write_config
from tests.support.node import free_port
from tests.support.redis import RedisServer
from tests.support.waiting import wait_until

# What a variable the manifests take from a Secret holds, here: found by the variable's own name.
SECRET_VALUES = {envvars.STATE_URL: "", envvars.FLEET_KEYS: fleet_key()}


def deploy(home: Path, *args: str) -> str:
    done = subprocess.run(
        mcpctl_command("deploy", *args),
        env=base_env(home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@dataclass
class Pod:
    """A container's command, run here: loopback instead of every address (tests bind 127.0.0.1 only)."""

    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def run_command(argv: list[str], home: Path, env: dict[str, str], mounts: dict[str, Path]) -> Pod:
    assert argv[:2] == ["mcpctl", "serve"]
    local = [str(mounts.get(arg, arg)) for arg in argv[1:]]
    assert "0.0.0.0" in local  # the image listens on every address...
    local[local.index("0.0.0.0")] = "127.0.0.1"  # ...this test on loopback only
    home.mkdir(parents=True, exist_ok=True)
    log = home / "serve.log"
    with log.open("wb") as handle:
        proc = subprocess.Popen(
            mcpctl_command(*local),
            env=base_env(home, **env),
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    return Pod(proc, log)


def answers(url: str) -> httpx.Response:
    return httpx.get(url, timeout=2)


@pytest.fixture
def configured(tmp_path: Path) -> tuple[Path, int]:
    port = free_port()
    path = write_config(tmp_path / "user", ECHO + f"\n[gateway]\nport = {port}\n")
    return path, port


def documents(text: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in yaml.safe_load_all(text)}


def test_the_kubernetes_manifests_match_a_running_instance(
    tmp_path: Path, configured: tuple[Path, int], redis_server: RedisServer
) -> None:
    path, port = configured
    text = deploy(tmp_path / "user", "kubernetes", "--config", str(path), "--allow-unauthenticated")
    docs = documents(text)
    kinds = sorted(kind for kind, _ in docs)
    assert kinds == [
        "Deployment",
        "Deployment",
        "HorizontalPodAutoscaler",
        "PersistentVolumeClaim",
        "Service",
        "Service",
    ]
    deployment = docs["Deployment", "mcpctl"]
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    [container_port] = container["ports"]
    assert container_port["containerPort"] == port  # the configured port

    # env: only variables mcpctl reads, each from the Secret the header says how to create
    names = [entry["name"] for entry in container["env"]]
    assert sorted(names) == sorted(SECRET_VALUES)
    for entry in container["env"]:
        ref = entry["valueFrom"]["secretKeyRef"]
        assert f"--from-literal={ref['key']}=" in text
    values = {**SECRET_VALUES, envvars.STATE_URL: redis_server.url}

    # the ConfigMap lands where the command reads the configuration
    [mount] = [m for m in container["volumeMounts"] if m["name"] == "config"]
    assert mount["mountPath"] in container["command"]
    pod_run = run_command(container["command"], tmp_path / "pod", values, {mount["mountPath"]: path})
    try:
        base = f"http://127.0.0.1:{port}"
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            assert container[probe]["httpGet"]["port"] == container_port["name"]
        liveness = container["livenessProbe"]["httpGet"]["path"]
        readiness = container["readinessProbe"]["httpGet"]["path"]
        assert container["startupProbe"]["httpGet"]["path"] == readiness

        def live() -> bool:
            if pod_run.proc.poll() is not None:
                raise AssertionError(pod_run.log.read_text())
            return answers(base + liveness).status_code == 200

        wait_until(live, 20, message="the liveness probe's path to answer")
        ready = wait_until(lambda: answers(base + readiness).status_code == 200 and answers(base + readiness))
        assert ready.json()["state"]["healthy"] is True  # in the fleet: the Secret's variables took effect

        # the Service reaches the container's port; the autoscaler's metric is one the instance serves
        service = docs["Service", "mcpctl"]
        assert [p["targetPort"] for p in service["spec"]["ports"]] == [container_port["name"]]
        assert service["spec"]["selector"] == deployment["spec"]["template"]["metadata"]["labels"]
        hpa = docs["HorizontalPodAutoscaler", "mcpctl"]
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"]["name"] == "mcpctl"
        [metric] = hpa["spec"]["metrics"]
        name = metric[metric["type"].lower()]["metric"]["name"]
        served = httpx.get(base + "/metrics", timeout=5).text.splitlines()
        assert any(line.startswith(name + " ") for line in served)
    finally:
        pod_run.stop()

    # Redis: append-only, its Service on its container's port, as the Secret's URL says
    redis = docs["Deployment", "mcpctl-redis"]["spec"]["template"]["spec"]["containers"][0]
    assert "--appendonly" in redis["args"]
    assert redis["args"][redis["args"].index("--appendonly") + 1] == "yes"
    redis_service = docs["Service", "mcpctl-redis"]
    [redis_port] = redis_service["spec"]["ports"]
    assert redis_port["port"] == redis["ports"][0]["containerPort"]
    assert f"{envvars.STATE_URL}=redis://mcpctl-redis:{redis_port['port']}/0" in text


def test_the_dockerfile_matches_a_running_instance(
    tmp_path: Path, configured: tuple[Path, int], redis_server: RedisServer
) -> None:
    path, port = configured
    text = deploy(tmp_path / "user", "container", "--config", str(path), "--allow-unauthenticated")
    parsed = DockerfileParser(fileobj=io.BytesIO(text.encode()))
    steps = [(step["instruction"], step["value"]) for step in parsed.structure]

    def values(instruction: str) -> list[str]:
        return [value for name, value in steps if name == instruction]

    assert parsed.baseimage == "python:3.12-slim"
    [user] = values("USER")
    assert user not in ("root", "0")
    assert values("EXPOSE") == [str(port)]
    # what it copies exists at the top of the source tree, and the extra it installs is declared
    for copy in values("COPY"):
        for source in copy.split()[:-1]:
            assert (ROOT / source).exists(), source
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any('"/src[redis]"' in run for run in values("RUN"))
    assert "redis" in extras
    env = dict(item.split("=", 1) for item in values("ENV"))
    assert set(env) <= {getattr(envvars, n) for n in dir(envvars) if n.isupper()}
    [healthcheck] = values("HEALTHCHECK")
    check = json.loads(healthcheck.split(" CMD ", 1)[1])
    assert check[0] == "python"
    check[0] = PYTHON

    def healthy() -> bool:
        return subprocess.run(check, capture_output=True, timeout=10, check=False).returncode == 0

    assert not healthy()  # nothing listens yet: the check can fail
    command = json.loads(parsed.cmd)
    mounted = {arg: path for arg in command if arg.startswith("/etc/mcpctl/")}
    assert mounted, "the command reads a mounted configuration"
    values_ = {**SECRET_VALUES, envvars.STATE_URL: redis_server.url}
    pod = run_command(command, tmp_path / "container", {**values_, **env}, mounted)
    try:
        wait_until(healthy, 20, message="the HEALTHCHECK command to pass")
        # and the image runs what the Kubernetes Deployment runs
        k8s = documents(
            deploy(tmp_path / "user", "kubernetes", "--config", str(path), "--allow-unauthenticated")
        )
        assert k8s["Deployment", "mcpctl"]["spec"]["template"]["spec"]["containers"][0]["command"] == command
    finally:
        pod.stop()
