"""API keys, OAuth bearer tokens, per-tool policy and keyring secrets."""
