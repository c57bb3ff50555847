"""What users are told: the one error type (a cause and a fix), its lab variant, and one-line progress."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str], None]
SETUP_FIX = "run scripts/setup-lab.sh"


class CfgbenchError(Exception):
    """A failure the user can act on; the CLI prints it on one line, exit 2."""

    exit_code = 2

    def __init__(self, cause: str, fix: str = "") -> None:
        self.cause = cause
        self.fix = fix
        super().__init__(self.one_line())

    def one_line(self) -> str:
        text = self.cause.rstrip(".")
        if self.fix:
            text += f": {self.fix}"
        return " ".join(text.split())


class RunInterrupted(CfgbenchError):
    """Ctrl-C or SIGTERM: what finished is kept; exit code 130 as shells expect."""

    exit_code = 130


class LabError(CfgbenchError):
    """The lab could not run, or the guest did not finish; `console` holds its serial output so far."""

    def __init__(self, cause: str, fix: str = "", console: str = "") -> None:
        super().__init__(cause, fix)
        self.console = console


def no_device(bdf: object) -> CfgbenchError:
    return CfgbenchError(f"no device answers at {bdf} (vendor ID reads all ones)", "pick one from `cfgbench list`")
