"""`engine schema`: print the plan JSON Schema, for editors and other tools."""

from __future__ import annotations

import click

from engine.plan.schema import schema_text


@click.command("schema")
def command() -> int:
    """Print the plan JSON Schema (draft 2020-12)."""
    click.echo(schema_text(), nl=False)
    return 0
