"""Test support: real hosts as subprocesses, waiting on conditions, raw MCP over HTTP."""
