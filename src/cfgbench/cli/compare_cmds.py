"""Commands of this family (filled in by its issue)."""

import click

COMMANDS: list[click.Command] = []
