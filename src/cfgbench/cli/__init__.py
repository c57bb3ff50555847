"""The `cfgbench` command: a thin click group; each command lives in its own module."""

from __future__ import annotations

import signal
import sys
from typing import Any

import click

from cfgbench import __version__
from cfgbench.errors import CfgbenchError

EXIT_INTERRUPTED = 130


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class CfgbenchGroup(click.Group):
    """Turns CfgbenchError into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        # SIGTERM ends a run like Ctrl-C does: cleanly, keeping what finished.
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        try:
            return super().invoke(ctx)
        except CfgbenchError as exc:
            click.echo(f"cfgbench: error: {exc.one_line()}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("cfgbench: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)


@click.group(cls=CfgbenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cfgbench")
def main() -> None:
    """Time PCI configuration-space reads: type 1 port I/O (pio), ECAM (mmio), the kernel's sysfs path."""


def _register_commands() -> None:
    # One module per family of commands, each exporting COMMANDS.
    from cfgbench.cli import compare_cmds, lab_cmds, measure_cmds

    for module in (measure_cmds, lab_cmds, compare_cmds):
        for command in module.COMMANDS:
            main.add_command(command)


_register_commands()
