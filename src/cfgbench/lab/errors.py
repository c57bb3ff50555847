"""The lab's error type: what went wrong with the guest and what to do about it."""

from __future__ import annotations

from cfgbench.errors import CfgbenchError

# The one command that installs everything the lab needs (QEMU, busybox, the kernel).
SETUP_FIX = "run scripts/setup-lab.sh"


class LabError(CfgbenchError):
    """The guest lab could not run, or the guest did not finish.

    `console` holds the guest's serial output so far (for debugging; the CLI
    prints only the one-line message).
    """

    def __init__(self, cause: str, fix: str = "", console: str = "") -> None:
        super().__init__(cause, fix)
        self.console = console
