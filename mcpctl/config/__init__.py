"""Configuration: models, loading (TOML and the mcpServers JSON shape) and import."""

from mcpctl.config.loader import load_config
from mcpctl.config.models import Config, GatewayConfig, RestartPolicy, ServerConfig

__all__ = ["Config", "GatewayConfig", "RestartPolicy", "ServerConfig", "load_config"]
