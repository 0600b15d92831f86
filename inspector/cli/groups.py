"""Command groups shared by several command modules (``inspector catalog``, ``inspector policy``).

Each command module attaches its commands to these groups in its ``register`` function.
"""

from __future__ import annotations

import typer

catalog_app = typer.Typer(
    help="Build, inspect and sign Windows catalogs (.cat).", no_args_is_help=True
)
policy_app = typer.Typer(
    help="Write, compile, sign and inspect WDAC (App Control) policies.", no_args_is_help=True
)
