"""The gateway's decisions without I/O: fed messages and clock ticks, it answers with actions."""

# The whole router loads with its package, in the order the host uses. A module of it compiled by
# mypyc checks the classes it names only for type checking at run time, and crashes when their
# module was never loaded (tests/support/compiled.py); whoever imports a part here needs the rest.
from mcpctl.router import router as _router  # noqa: F401
