"""The `cfgbench` command: a thin click group; each command lives in its own module."""

from __future__ import annotations

import importlib
import io
import signal
import sys
from typing import Any

import click

from cfgbench import __version__, limits
from cfgbench.errors import CfgbenchError

EXIT_INTERRUPTED = 130


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def say(line: str) -> None:
    """A line on stderr (progress, a note, an error): one line, whatever a path in it holds."""
    click.echo(f"cfgbench: {' '.join(line.split())}", err=True)


def _fail(message: str, exit_code: int) -> None:
    say(f"error: {message}")
    sys.exit(exit_code)


class Bounded(click.ParamType):
    """A number within its option's bound in limits.BOUNDS; NaN and infinity are refused."""

    name = "number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        option = max(param.opts, key=len) if param is not None else ""
        return limits.parse(option, value) if isinstance(value, str) else limits.check(option, value)


BOUNDED = Bounded()


# Which module (each exporting COMMANDS) holds each command; only that one is imported, so that `cfgbench run` in
# an emulated guest skips the plotting, CI, history and lab code.
COMMAND_MODULES = {
    "run": "measure_cmds", "info": "measure_cmds", "read": "measure_cmds", "list": "measure_cmds",
    "show": "measure_cmds", "lab": "lab_cmds", "compare": "compare_cmds", "plot": "compare_cmds",
    "history": "history_cmds", "fleet": "history_cmds", "ci": "ci_cmds",
}


class CfgbenchGroup(click.Group):
    """Every failure is one line on stderr (exit 2, 130 on an interruption); commands load lazily (COMMAND_MODULES)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMAND_MODULES:
            return None
        module = importlib.import_module(f"cfgbench.cli.{COMMAND_MODULES[cmd_name]}")
        return next(command for command in module.COMMANDS if command.name == cmd_name)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False  # we print click's errors ourselves, on one line
        if isinstance(sys.stdout, io.TextIOWrapper):  # a name that is not UTF-8 goes back out as given, in any locale
            sys.stdout.reconfigure(errors="surrogateescape")
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

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from cfgbench import access  # here, not above: a command other than --help may not need it

        formatter.write_paragraph()
        formatter.write_text(f"Time PCI configuration-space reads through each access method. {access.methods_help()}.")

    def invoke(self, ctx: click.Context) -> Any:
        # SIGTERM ends a run like Ctrl-C does: cleanly, keeping what finished.
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        try:
            return super().invoke(ctx)
        except CfgbenchError as exc:
            _fail(exc.one_line(), exc.exit_code)
        except OSError as exc:  # a path the system refuses however it is used: too long, a loop, no permission
            if exc.filename is None:
                raise
            _fail(f"cannot use {exc.filename} ({exc.strerror}): check the path", 2)
        except KeyboardInterrupt:
            _fail("interrupted", EXIT_INTERRUPTED)


@click.group(cls=CfgbenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cfgbench")
def main() -> None:
    pass  # the help text is CfgbenchGroup's, from the registry

