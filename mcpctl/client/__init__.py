"""The command-line MCP client: sessions (over mcpctl.mcpclient), arguments, input, output."""
