"""Names of the environment variables mcpctl reads, in one place."""

from __future__ import annotations

from typing import Final

HOME: Final = "MCPCTL_HOME"  # roots config, state, logs and runtime files under one directory
CONFIG: Final = "MCPCTL_CONFIG"  # default --config for every command
URL: Final = "MCPCTL_URL"  # default --url for client commands
API_KEY: Final = "MCPCTL_API_KEY"  # an API key for client commands (CI), instead of the keyring
TOKEN_STORE: Final = "MCPCTL_TOKEN_STORE"  # noqa: S105 (a variable name, not a secret)  # "keyring" (default) or "file" (explicit, insecure opt-in)
STATE_URL: Final = "MCPCTL_STATE_URL"  # the fleet's Redis (as `serve --state`)
FLEET_KEYS: Final = "MCPCTL_FLEET_KEYS"  # the fleet's shared keys, comma-separated, newest first
