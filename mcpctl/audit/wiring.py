"""Plugs the audit part into the host: its recorder, its call hooks and its writer service."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from mcpctl.extension import Extension

if TYPE_CHECKING:
    from mcpctl.extension import PartContext


def build(context: PartContext) -> Extension:
    cfg = context.config.audit
    if not cfg.enabled:
        return Extension()  # the other parts record into context.audit, a NullRecorder
    from mcpctl.audit.hooks import AuditHooks
    from mcpctl.audit.records import Shaper
    from mcpctl.audit.redact import Redactor
    from mcpctl.audit.sink import AuditFile
    from mcpctl.audit.writer import AuditWriter

    shaper = Shaper(
        Redactor(cfg.redact_keys, cfg.redact_patterns, context.secrets),
        output_budget=cfg.output_summary_bytes,
        arguments_budget=cfg.arguments_bytes,
    )
    # In a fleet each instance keeps its own chain (no lock across instances on the hot path), in a
    # folder of its own: a shared volume then holds the fleet's trails side by side for `mcpctl logs`.
    directory = context.paths.audit_dir
    if context.fleet is not None:
        directory = directory / context.fleet.store.instance
    mirror = sys.stdout.buffer if cfg.stdout else None
    file = AuditFile(directory, max_file_bytes=cfg.max_file_bytes, retention=cfg.retention, mirror=mirror)
    writer = AuditWriter(file, shaper, queue_size=cfg.queue_size)
    return Extension(hooks=[AuditHooks(writer, shaper)], services=[writer], recorder=writer)
