"""A real nginx for tests: a site file included in a minimal main config, all paths under a temp prefix."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.waiting import wait_until


@dataclass
class Nginx:
    """nginx in the foreground (`daemon off`), serving `site` (what `mcpctl deploy nginx` printed)."""

    prefix: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url + "/mcp"

    def log(self) -> str:
        error_log = self.prefix / "error.log"
        return error_log.read_text(errors="replace") if error_log.exists() else ""

    def start(self, site: str) -> None:
        binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
        if binary is None:
            raise RuntimeError("nginx not found: apt-get install -y --no-install-recommends nginx")
        temp = self.prefix / "temp"
        for kind in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (temp / kind).mkdir(parents=True, exist_ok=True)
        (self.prefix / "mcpctl.conf").write_text(site)
        # As root, workers would run as `nobody`, which cannot enter pytest's 0700 temp directories.
        user = "user root root;\n" if os.geteuid() == 0 else ""
        main = f"""{user}worker_processes 1;
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/error.log info;
events {{ worker_connections 512; }}
http {{
    access_log {self.prefix}/access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {self.prefix}/mcpctl.conf;
}}
"""
        (self.prefix / "nginx.conf").write_text(main)
        check = subprocess.run(
            [binary, "-t", "-p", str(self.prefix), "-c", str(self.prefix / "nginx.conf")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, f"nginx -t refused the configuration:\n{check.stderr}"
        self.proc = subprocess.Popen(
            [binary, "-p", str(self.prefix), "-c", str(self.prefix / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own group: a kill reaches the workers too
        )
        try:
            wait_until(self._answers, 10, message="nginx to answer")
        except BaseException:
            self.stop()
            raise

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"nginx exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
        return httpx.get(self.base_url + "/health", timeout=2).status_code == 200

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: fast shutdown, workers included
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None
