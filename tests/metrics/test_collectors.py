"""Metric labels stay bounded, and live state (audit queue included) is read at scrape time."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mcpctl.config.models import Config
from mcpctl.host import Host
from mcpctl.metrics import calls as call_metrics
from mcpctl.metrics.calls import CallMetrics
from mcpctl.metrics.collector import HostCollector
from mcpctl.paths import Paths
from mcpctl.protocol import codes
from mcpctl.protocol.eras import Era
from mcpctl.router.calls import Call
from mcpctl.router.context import ClientContext
from mcpctl.router.hooks import Refusal


def series(registry: CollectorRegistry, name: str) -> list[dict[str, str]]:
    text = generate_latest(registry).decode()
    return [s.labels for f in text_string_to_metric_families(text) for s in f.samples if s.name == name]


def ctx() -> ClientContext:
    return ClientContext(Era.MODERN, "2026-07-28", {}, {})


def test_tool_labels_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(call_metrics, "MAX_TOOL_LABELS", 3)
    registry = CollectorRegistry()
    metrics = CallMetrics()
    registry.register(metrics)
    for index in range(10):  # a server that keeps inventing tools
        metrics.finished(Call(ctx(), index, "tools/call", "s", f"s__t{index}"), {}, "ok")
    tools = sorted({labels["tool"] for labels in series(registry, "mcp_requests_total")})
    assert tools == ["(other)", "s__t0", "s__t1", "s__t2"]


def test_methods_outside_the_known_few_share_one_label() -> None:
    registry = CollectorRegistry()
    metrics = CallMetrics()
    registry.register(metrics)
    # a bridged server receives whatever methods a client sends
    metrics.finished(Call(ctx(), 1, "x/anything-a-client-sent", "s", "x/anything-a-client-sent"), {}, "ok")
    metrics.refused(
        Refusal(ctx(), "tools/call", "s", "s__t", {}, {"code": codes.CIRCUIT_OPEN, "message": "open"})
    )
    labels = series(registry, "mcp_requests_total")
    assert {"server": "s", "method": "(other)", "tool": "", "outcome": "ok"} in labels
    assert {"server": "s", "method": "tools/call", "tool": "s__t", "outcome": "circuit_open"} in labels


class Recorder:
    """Stands in for the audit part's recorder: the attributes the collector reads."""

    def __init__(self) -> None:
        self.queue_depth = 7

    def dropped(self) -> int:
        return 2

    def record(self, kind: str, **fields: object) -> None:
        return None


def test_audit_queue_depth_and_drops_are_read_when_the_recorder_has_them(tmp_path: Path) -> None:
    host = Host(
        Config.model_validate({"servers": {"a": {"command": "x"}}}),
        Paths.from_env({"MCPCTL_HOME": str(tmp_path)}),
    )
    registry = CollectorRegistry()
    registry.register(HostCollector(host, Recorder()))
    text = generate_latest(registry).decode()
    assert "mcp_audit_queue_depth 7.0" in text
    assert "mcp_audit_dropped_total 2.0" in text
    assert 'mcp_server_state{server="a",state="starting"} 1.0' in text
    bare = CollectorRegistry()  # a recorder without them: the series are left out, nothing breaks
    bare.register(HostCollector(host, object()))
    text = generate_latest(bare).decode()
    assert "mcp_audit" not in text
    assert 'mcp_server_state{server="a",state="starting"} 1.0' in text
