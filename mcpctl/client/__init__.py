"""The command-line MCP client: sessions over the gateway's Upstream, arguments, input, output."""
