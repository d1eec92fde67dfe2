"""mcpctl: a developer CLI and local multi-server host for the Model Context Protocol."""

__version__ = "0.1.0"
