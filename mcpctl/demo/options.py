"""The command-line options every demo or fixture server accepts."""

from __future__ import annotations

import argparse


def arg_parser(
    description: str | None,
    *,
    eras: tuple[str, ...] = ("dual", "legacy", "modern"),
    prog: str | None = None,
) -> argparse.ArgumentParser:
    """The common options (--era, --name, --ttl-ms, --page-size); callers add theirs before parse_args()."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(
        "--era",
        choices=eras,
        default=eras[0],
        help="dual (default): modern _meta requests statelessly, plus initialize-based sessions",
    )
    parser.add_argument("--name", help="serverInfo name (default: the server's own name)")
    parser.add_argument(
        "--ttl-ms", type=int, default=0, metavar="MS", help="ttlMs caching hint on modern results (default 0)"
    )
    parser.add_argument(
        "--page-size",
        type=int,
        default=0,
        metavar="N",
        help="paginate list results N per page (default: no paging)",
    )
    return parser
