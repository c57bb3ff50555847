"""What every access method is (docs/design.md, "Accessor protocol")."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cfgbench._native import ffi, lib
from cfgbench.address import Bdf, check_access
from cfgbench.errors import CfgbenchError
from cfgbench.schema import ACCESS, ACCESS_LABEL, ACCESS_ROLE, MECHANISM

FORBID_RAW_ENV = "CFGBENCH_FORBID_RAW"
READ = "read"  # the whole config read; the split workload times its accesses too
NOTHING_READ = 0  # the value of an access that reads nothing (a write to 0xCF8, the kernel floor)


def raw_forbidden_reason() -> str:
    """'' unless raw methods are forbidden here; else why."""
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


@dataclass(frozen=True)
class SplitPart:
    """One access of a method's config read, timed on its own; an untimed read must return `expected` first."""

    access: str  # one of the method's `accesses`: "address-write"
    label: str  # "address write (0xCF8)"
    mechanism: str  # "type 1", "ECAM", "kernel"
    role: str  # schema.PART, FLOOR or EXTRA
    offset: int
    width: int
    expected: int
    per_device: bool = False  # the same benchmark for every offset of the function
    unverified: str = ""  # why the part is not timed when its check fails
    metadata: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, str]:
        """What its benchmark records."""
        return {ACCESS: self.access, ACCESS_LABEL: self.label, ACCESS_ROLE: self.role, MECHANISM: self.mechanism,
                **self.metadata}


class ConfigAccessor(ABC):
    """One access method: subclasses set `name` and `help`, and implement the hooks."""

    name: str = ""
    help: str = ""
    color: str = ""  # a matplotlib colour; "" takes one by its registry rank
    raw: bool = False  # touches ports or /dev/mem
    hidden: bool = False  # not offered to users (the test backend)
    accesses: tuple[str, ...] = ()  # what its read splits into (split_parts), besides READ

    def __init__(self) -> None:
        self._opened = False
        self._keepalive: list[Any] = []

    @classmethod
    def offered(cls) -> bool:
        return not cls.hidden

    @classmethod
    def can_scan(cls) -> bool:
        """Whether it reaches functions the kernel did not enumerate (the scan workload)."""
        return cls.raw

    @classmethod
    def mismatch_note(cls, mismatches: int, reads: int) -> str:
        return f"WARNING: {mismatches} of {reads} reads returned another value: the register changed during the run"

    def run_warning(self) -> str | None:
        return None

    def enumerated(self) -> set[Bdf] | None:
        """The functions it knows to exist (the kernel's list), or None when it reads whatever is asked."""
        return None

    @abstractmethod
    def detect(self) -> Detection:
        """Quiet: can it run here, and if not, why and what to do."""

    def open(self) -> None:
        if self.raw and raw_forbidden_reason():
            raise CfgbenchError(f"raw method {self.name} is forbidden in this environment ({FORBID_RAW_ENV} is set)",
                                "run raw methods only inside the lab guest (cfgbench lab) or on a machine you own")
        self._open()
        self._opened = True

    def close(self) -> None:
        """The native targets it handed out die with it."""
        for obj in self._keepalive:
            ffi.release(obj)  # lets the mmaps and buffers behind from_buffer() close
        self._keepalive.clear()
        if self._opened:
            self._close()
        self._opened = False

    def read(self, bdf: Bdf, offset: int, width: int, access: str = READ) -> int:
        """One untimed read through the native path, or through one of its accesses."""
        target = self._new_target(bdf, offset, width, 0, access)  # freed with this call
        value = ffi.new("uint32_t *")
        err = lib.cfg_read_once(target, value)
        if err:
            what = "read" if access == READ else f"{access} access"
            raise CfgbenchError(f"{self.name} {what} of {bdf} at {offset:#x} failed: {os.strerror(err)}", self.read_failure_fix())
        return int(value[0])

    def target(self, bdf: Bdf, offset: int, width: int, expected: int, access: str = READ) -> Any:
        """A native `struct cfg_target *` for the timed loops, alive until close()."""
        return self.keep(self._new_target(bdf, offset, width, expected, access))

    def _new_target(self, bdf: Bdf, offset: int, width: int, expected: int, access: str = READ) -> Any:
        if not self._opened:
            raise RuntimeError(f"{self.name}: open() before target()")
        if access != READ and access not in self.accesses:
            raise CfgbenchError(f"{self.name} has no {access!r} access",
                                f"its accesses: {', '.join(self.accesses) or 'the whole read only'}")
        self.check_reach(bdf, offset, width)
        target = ffi.new("struct cfg_target *")
        target.width = width
        target.expected = expected
        self._fill_target(target, bdf, offset, width)
        if access != READ:
            self._fill_access(target, bdf, offset, width, access)
        return target

    def split_parts(self, bdf: Bdf, offset: int, width: int, value: int) -> list[SplitPart]:
        """The accesses a read that returned value is made of, each to be timed alone."""
        return []

    def target_metadata(self, bdf: Bdf) -> dict[str, str]:
        return {}

    def prepare_targets(self, bdfs: Iterable[Bdf]) -> None:  # noqa: B027 (optional hook)
        """Before one benchmark's targets are made: set up what they share (mmio maps a scan's bus range once)."""

    def __enter__(self) -> ConfigAccessor:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def _open(self) -> None: ...

    def _close(self) -> None:  # noqa: B027 (optional hook: not every method holds resources)
        pass

    @abstractmethod
    def _fill_target(self, target: Any, bdf: Bdf, offset: int, width: int) -> None: ...

    def _fill_access(self, target: Any, bdf: Bdf, offset: int, width: int, access: str) -> None:
        """Turn a read's target into one of its `accesses`."""
        raise CfgbenchError(f"{self.name} has no {access!r} access")

    def space_size(self, bdf: Bdf) -> int:
        return 4096

    def check_reach(self, bdf: Bdf, offset: int, width: int) -> None:
        check_access(offset, width, self.space_size(bdf))

    def read_failure_fix(self) -> str:
        return "check the device exists (cfgbench list)"

    def keep(self, obj: Any) -> Any:
        self._keepalive.append(obj)
        return obj
