"""The conformance suite's auth scenarios, played as a person would: `mcpctl login`, then `mcpctl call`.

    auth_client.py SERVER_URL        (MCP_CONFORMANCE_SCENARIO and MCP_CONFORMANCE_CONTEXT in env)
    auth_client.py --browse URL      the "browser": follows the authorization server's redirects

The suite's authorization server redirects at once (no sign-in page), so the browser is a GET
that follows redirects back to mcpctl's loopback listener; it is handed to mcpctl through
$BROWSER, exactly where a person's browser would be. When mcpctl says to sign in again
("run `mcpctl login URL` again"), the person does that once, and runs the call again.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
# The suite's fixed Client ID Metadata Document URL (it never fetches it): a person who hosts one
# passes it like this.
CIMD_URL = "https://conformance-test.local/client-metadata.json"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
TIMEOUT = "20"


def browse(url: str) -> int:
    """GET `url`, following redirects, on loopback only (like the test browser's host rules)."""
    import httpx

    with httpx.Client(timeout=10, follow_redirects=False) as client:
        for _ in range(10):
            if urlsplit(url).hostname not in LOOPBACK:
                print(f"browse: refusing to leave loopback for {url}", file=sys.stderr)
                return 1
            response = client.get(url)
            location = response.headers.get("location")
            if not response.is_redirect or not location:
                return 0 if response.status_code < 400 else 1
            url = str(response.url.join(location))
    return 1


def mcpctl(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    command = [os.environ.get("MCPCTL", str(ROOT / ".venv" / "bin" / "mcpctl")), *args]
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, check=False, timeout=120)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    return done


def login_args(url: str, context: dict[str, object]) -> tuple[list[str], str]:
    args = ["login", url, "--timeout", TIMEOUT, "--client-metadata-url", CIMD_URL]
    secret = ""
    if isinstance(context.get("client_id"), str):
        args += ["--client-id", str(context["client_id"])]
        if isinstance(context.get("client_secret"), str):
            args += ["--client-secret", "-"]  # from stdin: never in the process list
            secret = str(context["client_secret"]) + "\n"
    return args, secret


def main(url: str) -> int:
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    browser = f"{shlex.quote(sys.executable)} {shlex.quote(str(Path(__file__).resolve()))} --browse %s"
    os.environ["BROWSER"] = browser + " &"
    args, secret = login_args(url, context)
    call = ["call", "--url", url, "--timeout", TIMEOUT, "test-tool"]
    signed_in = mcpctl(*args, stdin=secret)
    if signed_in.returncode != 0:
        return signed_in.returncode
    try:
        done = mcpctl(*call)
        if done.returncode == 4 and "mcpctl login" in done.stderr:
            # the person follows the advice once: signs in again, runs the command again
            again = mcpctl(*args, stdin=secret)
            if again.returncode != 0:
                return again.returncode
            done = mcpctl(*call)
        return done.returncode
    finally:
        # Tidy up as the person would: the next scenario's authorization server may get this one's
        # port, and with it this issuer's address; it must see a client that registers afresh.
        mcpctl("logout", url)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--browse":
        sys.exit(browse(sys.argv[2]))
    sys.exit(main(sys.argv[-1]))
