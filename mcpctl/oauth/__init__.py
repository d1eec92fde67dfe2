"""OAuth client for MCP servers: pure steps (discovery, PKCE, callbacks, tokens) and the login I/O."""
