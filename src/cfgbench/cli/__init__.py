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


def _fail(message: str, exit_code: int) -> None:
    click.echo(f"cfgbench: error: {' '.join(message.split())}", err=True)
    sys.exit(exit_code)


class CfgbenchGroup(click.Group):
    """Every failure is one line on stderr: CfgbenchError and click's own usage
    errors exit 2, an interruption 130."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False  # we print click's errors ourselves, on one line
        try:
            result = super().main(*args, **kwargs)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "cfgbench"
            _fail(f"{exc.format_message().rstrip('.')}: see `{where} --help`", exc.exit_code)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        except click.Abort:
            _fail("interrupted", EXIT_INTERRUPTED)
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        # SIGTERM ends a run like Ctrl-C does: cleanly, keeping what finished.
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        try:
            return super().invoke(ctx)
        except CfgbenchError as exc:
            _fail(exc.one_line(), exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", EXIT_INTERRUPTED)


@click.group(cls=CfgbenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cfgbench")
def main() -> None:
    """Time PCI configuration-space reads: type 1 port I/O (pio), ECAM (mmio), the kernel's sysfs path."""


def _register_commands() -> None:
    # One module per family of commands, each exporting COMMANDS.
    from cfgbench.cli import ci_cmds, compare_cmds, history_cmds, lab_cmds, measure_cmds

    for module in (measure_cmds, lab_cmds, compare_cmds, history_cmds, ci_cmds):
        for command in module.COMMANDS:
            main.add_command(command)


_register_commands()
