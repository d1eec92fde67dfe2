"""The audit trail: events, redaction, hash-chained JSONL, readers."""
