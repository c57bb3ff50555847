"""The CLI loads each command's module only when that command is used (cli.COMMAND_MODULES)."""

from __future__ import annotations

import importlib
import pkgutil

import cfgbench.cli
from cfgbench.cli import COMMAND_MODULES

from cli_helpers import modules_left_imported


def test_every_command_is_found_in_the_module_that_defines_it() -> None:
    defined = {}
    for info in pkgutil.iter_modules(cfgbench.cli.__path__):
        module = importlib.import_module(f"cfgbench.cli.{info.name}")
        defined |= {command.name: info.name for command in getattr(module, "COMMANDS", ())}
    assert defined == COMMAND_MODULES


def test_running_a_command_imports_no_other_commands_module() -> None:
    # `cfgbench run` in a TCG guest: the plotting, CI, history and lab code would cost seconds there.
    code = "import click; from cfgbench.cli import main; main.get_command(click.Context(main), 'run')"
    loaded = modules_left_imported(code, "cfgbench.cli", "cfgbench.plot", "cfgbench.ci", "cfgbench.history", "cfgbench.lab")
    assert loaded == ["cfgbench.cli", "cfgbench.cli.measure_cmds"]
