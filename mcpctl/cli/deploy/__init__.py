"""`mcpctl deploy`: print nginx, container and Kubernetes files rendered from the user's configuration."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mcpctl import __version__, envvars

if TYPE_CHECKING:
    from mcpctl.cli.console import Console
    from mcpctl.cli.deploy.facts import Facts

deploy_app = typer.Typer(
    help=(
        "Print deployment files rendered from your configuration (port, paths, flags, variables): "
        "nginx in front of a fleet, a container build file, Kubernetes manifests. Redirect to a file."
    ),
    no_args_is_help=True,
)

CONFIG_HELP = f"Configuration file, found as `serve` finds it. Env: {envvars.CONFIG}."
UNAUTHENTICATED_HELP = (
    "Let the container listen without authentication (serve's --allow-unauthenticated): "
    "only on a trusted network."
)


def register(app: typer.Typer) -> None:
    app.add_typer(deploy_app, name="deploy")


def _facts(config: Path | None, allow_unauthenticated: bool = False) -> Facts:
    from mcpctl.cli.common import config_path, demo_config, load
    from mcpctl.cli.deploy.facts import Facts
    from mcpctl.paths import Paths

    path = config_path(config, Paths.from_env())
    if path is None:
        return Facts(demo_config(), None, allow_unauthenticated)
    return Facts(load(path), path.resolve(), allow_unauthenticated)


@deploy_app.command("nginx")
def nginx_command(
    upstream: Annotated[
        list[str] | None,
        typer.Option(
            "--upstream",
            "-u",
            metavar="HOST:PORT",
            help="An instance (repeat it); default: the configured host and port.",
        ),
    ] = None,
    instances: Annotated[
        int | None,
        typer.Option(
            "--instances",
            "-n",
            metavar="N",
            help="N instances on the configured host, on N ports from the configured one.",
        ),
    ] = None,
    listen: Annotated[
        str, typer.Option("--listen", "-l", metavar="[HOST:]PORT", help="Where nginx listens.")
    ] = "80",
    config: Annotated[Path | None, typer.Option("--config", "-c", metavar="FILE", help=CONFIG_HELP)] = None,
) -> None:
    """nginx in front of a fleet: round robin, streams unbuffered, a POST never re-sent."""
    from mcpctl.cli.console import Console
    from mcpctl.cli.deploy import nginx as render

    facts = _facts(config)
    servers = render.upstreams(facts, upstream or [], instances)
    Console().data(render.render(facts, servers, render.listen(listen)))


@deploy_app.command("container")
def container_command(
    config: Annotated[Path | None, typer.Option("--config", "-c", metavar="FILE", help=CONFIG_HELP)] = None,
    allow_unauthenticated: Annotated[
        bool, typer.Option("--allow-unauthenticated", help=UNAUTHENTICATED_HELP)
    ] = False,
) -> None:
    """A Dockerfile for one instance (build it from the mcpctl source tree)."""
    from mcpctl.cli.console import Console
    from mcpctl.cli.deploy import container as render

    facts = _facts(config, allow_unauthenticated)
    console = Console()
    text = render.render(facts)
    _warn_keyring(console, facts)
    console.data(text)


@deploy_app.command("kubernetes")
def kubernetes_command(
    config: Annotated[Path | None, typer.Option("--config", "-c", metavar="FILE", help=CONFIG_HELP)] = None,
    image: Annotated[
        str,
        typer.Option(
            "--image",
            metavar="IMAGE",
            help="The image `mcpctl deploy container` built, as the cluster pulls it.",
        ),
    ] = f"mcpctl:{__version__}",
    replicas: Annotated[int, typer.Option("--replicas", metavar="N", help="Instances at least.")] = 3,
    max_replicas: Annotated[int, typer.Option("--max-replicas", metavar="N", help="Instances at most.")] = 10,
    sessions_per_replica: Annotated[
        int,
        typer.Option(
            "--sessions-per-replica", metavar="N", help="Open sessions per instance the autoscaler aims at."
        ),
    ] = 1000,
    allow_unauthenticated: Annotated[
        bool, typer.Option("--allow-unauthenticated", help=UNAUTHENTICATED_HELP)
    ] = False,
) -> None:
    """Kubernetes manifests: the fleet (Deployment, Service, autoscaler) and its Redis."""
    from mcpctl.auth.apikeys import KEYS_FILE
    from mcpctl.cli.console import Console
    from mcpctl.cli.deploy import kubernetes as render
    from mcpctl.paths import Paths

    facts = _facts(config, allow_unauthenticated)
    console = Console()
    scale = render.Scale(image, replicas, max_replicas, sessions_per_replica)
    text = render.render(facts, scale, str(Paths.from_env().state_dir / KEYS_FILE))
    _warn_keyring(console, facts)
    console.data(text)


def _warn_keyring(console: Console, facts: Facts) -> None:
    if names := facts.keyring_secrets():
        console.warn(
            f"servers refer to keyring secrets ({', '.join(names)}), and a container has no keyring: "
            "those servers stay down until their values reach them another way"
        )
