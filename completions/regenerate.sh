#!/bin/sh
# Regenerates the completion scripts from the CLI (tests/cli/test_completions.py fails when they are stale).
set -eu
cd "$(dirname "$0")"
MCPCTL=${MCPCTL:-../.venv/bin/mcpctl}
"$MCPCTL" completions bash > mcpctl.bash
"$MCPCTL" completions zsh > _mcpctl
"$MCPCTL" completions fish > mcpctl.fish
