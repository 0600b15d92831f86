"""Command groups shared by several command modules (``inspector catalog``, ``inspector policy``).

Each command module attaches its commands to these groups in its ``register`` function.
"""

from __future__ import annotations

import typer

from inspector.cli.help import InspectorGroup

catalog_app = typer.Typer(
    cls=InspectorGroup,
    help="Build and inspect Windows catalogs (.cat); signing is 'inspector sign'.",
    no_args_is_help=True,
)
policy_app = typer.Typer(
    cls=InspectorGroup,
    help="Write, compile, sign and inspect WDAC (App Control) policies.",
    no_args_is_help=True,
)
