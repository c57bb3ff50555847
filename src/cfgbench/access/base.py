"""What every access method is: detect, open, read, a native target for the loops, close."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cfgbench._native import ffi, lib
from cfgbench.address import Bdf, check_access
from cfgbench.errors import CfgbenchError

# Set by the test suite: raw methods refuse before any ioperm, iopl or /dev/mem.
FORBID_RAW_ENV = "CFGBENCH_FORBID_RAW"
ALL_ONES = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFF_FFFF}


def raw_forbidden_reason() -> str:
    """'' unless raw methods are forbidden in this environment; else one line saying so and why."""
    if not os.environ.get(FORBID_RAW_ENV):
        return ""
    return (f"pio and mmio are forbidden in this environment: {FORBID_RAW_ENV} is set (the test suite sets it "
            "so that nothing touches this machine's ports or /dev/mem; raw methods run in the lab guest)")


@dataclass(frozen=True)
class Detection:
    """Whether a method can run here; never raised, only reported."""

    ok: bool
    reason: str = ""
    fix: str = ""


class ConfigAccessor(ABC):
    """One access method. Subclasses set `name`, `help`, and implement the hooks."""

    name: str = ""
    help: str = ""
    raw: bool = False  # touches hardware directly (ports or /dev/mem)
    hidden: bool = False  # not offered to users (the test backend)

    def __init__(self) -> None:
        self._opened = False
        # Native structs and the buffers they point into must outlive the loops.
        self._keepalive: list[Any] = []

    @classmethod
    def offered(cls) -> bool:
        """Whether the CLI accepts this method name here."""
        return not cls.hidden

    # -- protocol -----------------------------------------------------------
    @abstractmethod
    def detect(self) -> Detection:
        """Quiet check: can this method run here, and if not, why and what to do."""

    def open(self) -> None:
        if self.raw and raw_forbidden_reason():
            raise CfgbenchError(
                f"raw method {self.name} is forbidden in this environment ({FORBID_RAW_ENV} is set)",
                "run raw methods only inside the lab guest (cfgbench lab) or on a machine you own",
            )
        self._open()
        self._opened = True

    def close(self) -> None:
        """Ends the method; the native targets it handed out die with it."""
        for obj in self._keepalive:
            ffi.release(obj)  # lets mmaps and buffers behind from_buffer() close
        self._keepalive.clear()
        if self._opened:
            self._close()
        self._opened = False

    def read(self, bdf: Bdf, offset: int, width: int) -> int:
        """One untimed read through this method's native path."""
        target = self._new_target(bdf, offset, width, expected=0)  # freed with this call
        value = ffi.new("uint32_t *")
        err = lib.cfg_read_once(target, value)
        if err:
            raise CfgbenchError(
                f"{self.name} read of {bdf} at {offset:#x} failed: {os.strerror(err)}",
                self.read_failure_fix(),
            )
        return int(value[0])

    def target(self, bdf: Bdf, offset: int, width: int, expected: int) -> Any:
        """A native `struct cfg_target *` for the timed loops; it lives until close()."""
        return self.keep(self._new_target(bdf, offset, width, expected))

    def _new_target(self, bdf: Bdf, offset: int, width: int, expected: int) -> Any:
        if not self._opened:
            raise RuntimeError(f"{self.name}: open() before target()")
        self.check_reach(bdf, offset, width)
        target = ffi.new("struct cfg_target *")
        target.width = width
        target.expected = expected
        self._fill_target(target, bdf, offset, width)
        return target

    def target_metadata(self, bdf: Bdf) -> dict[str, str]:
        """What a result should record about how this method reached bdf."""
        return {}

    def prepare_targets(self, bdfs: Iterable[Bdf]) -> None:  # noqa: B027 (optional hook)
        """Called before the targets of one benchmark are made: a method may
        set up what they share (mmio maps a scan's bus range once)."""

    def __enter__(self) -> ConfigAccessor:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- hooks for subclasses ------------------------------------------------
    @abstractmethod
    def _open(self) -> None: ...

    def _close(self) -> None:  # noqa: B027 (optional hook: not every method holds resources)
        pass

    @abstractmethod
    def _fill_target(self, target: Any, bdf: Bdf, offset: int, width: int) -> None: ...

    def space_size(self, bdf: Bdf) -> int:
        """How many bytes of bdf's config space this method can reach."""
        return 4096

    def check_reach(self, bdf: Bdf, offset: int, width: int) -> None:
        """Raise CfgbenchError, saying why, when this method cannot read there."""
        check_access(offset, width, self.space_size(bdf))

    def read_failure_fix(self) -> str:
        return "check the device exists (cfgbench list)"

    def keep(self, obj: Any) -> Any:
        self._keepalive.append(obj)
        return obj
