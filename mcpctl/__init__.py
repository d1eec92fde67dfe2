"""mcpctl: a developer CLI and local multi-server host for the Model Context Protocol."""

__version__ = "0.1.0"


def compiled() -> bool:
    """True in the compiled build (README, "A compiled build"): mypyc built the router. Looked up
    on disk, not imported, so that `mcpctl --version` stays as quick as it was."""
    from importlib.machinery import EXTENSION_SUFFIXES
    from pathlib import Path

    router = Path(__file__).parent / "router"
    return any((router / f"router{suffix}").exists() for suffix in EXTENSION_SUFFIXES)
