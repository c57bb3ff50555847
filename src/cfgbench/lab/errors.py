"""The lab's error type: what went wrong with the guest and what to do about it."""

from __future__ import annotations

from cfgbench.errors import CfgbenchError

SETUP_FIX = "run scripts/setup-lab.sh"


class LabError(CfgbenchError):
    """The lab could not run, or the guest did not finish; `console` holds its serial output so far."""

    def __init__(self, cause: str, fix: str = "", console: str = "") -> None:
        super().__init__(cause, fix)
        self.console = console
