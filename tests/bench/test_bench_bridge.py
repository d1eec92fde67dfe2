"""bench_bridge, run for a few calls: it still runs, both clients get their answers, every figure prints.

Figures are parsed, never judged: a few calls on a 2-core machine shared with other work say
nothing about speed.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.support.host import PYTHON, ROOT

pytestmark = pytest.mark.slow

NUMBER = r"(-?\d+(?:\.\d+)?)"


def test_bench_bridge_prints_both_clients_and_what_the_round_adds() -> None:
    done = subprocess.run(
        [PYTHON, "-m", "tests.bench.bench_bridge", "--calls", "4"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    out = done.stdout
    for label in ("legacy session, server->client request ", "modern client, one input_required round"):
        line = rf"^{re.escape(label)}: p50 +{NUMBER} ms   p99 +{NUMBER} ms$"
        [(p50, p99)] = re.findall(line, out, re.MULTILINE)
        assert 0 < float(p50) <= float(p99), (label, p50, p99)
    added = rf"^added by the round \(p50\) +: +{NUMBER} ms = settle window 50 ms \+ {NUMBER} ms$"
    assert len(re.findall(added, out, re.MULTILINE)) == 1, out
    report = json.loads(out.strip().splitlines()[-1])
    assert report["calls"] == 4 and report["settle_ms"] == 50
    # the round waits the settle window before it answers, so it cannot be cheaper than that
    assert report["modern"]["p50_ms"] >= report["settle_ms"], report
