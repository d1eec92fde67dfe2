"""Plugs the audit part into the host: its recorder, its call hooks and its writer service."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcpctl.extension import Extension

if TYPE_CHECKING:
    from mcpctl.host import Host


def build(host: Host) -> Extension:
    cfg = host.config.audit
    if not cfg.enabled:
        return Extension()  # host.audit stays the NullRecorder
    from mcpctl.audit.hooks import AuditHooks
    from mcpctl.audit.records import Shaper
    from mcpctl.audit.redact import Redactor
    from mcpctl.audit.sink import AuditFile
    from mcpctl.audit.writer import AuditWriter

    shaper = Shaper(
        Redactor(cfg.redact_keys, cfg.redact_patterns, host.secrets),
        output_budget=cfg.output_summary_bytes,
        arguments_budget=cfg.arguments_bytes,
    )
    file = AuditFile(host.paths.audit_dir, max_file_bytes=cfg.max_file_bytes, retention=cfg.retention)
    writer = AuditWriter(file, shaper, queue_size=cfg.queue_size)
    host.audit = writer
    return Extension(hooks=[AuditHooks(writer, shaper)], services=[writer])
