"""mmio (alias ecam): loads from the ECAM window mapped read-only through /dev/mem."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfgbench._native import ffi, lib
from cfgbench.access.base import ConfigAccessor, Detection, SplitPart
from cfgbench.address import VMD_FIX, Bdf, ecam_offset
from cfgbench.errors import CfgbenchError
from cfgbench.mcfg import BUS_SHIFT, EcamWindow, ecam_window_for, read_ecam_windows
from cfgbench.platform import kernel_cmdline, raw_access_blocker
from cfgbench.schema import ECAM_WINDOW, PART

DEV_MEM = Path("/dev/mem")
RELAXED_IOMEM = "iomem=relaxed"
RELAXED_FIX = "boot with iomem=relaxed on the kernel command line (CONFIG_IO_STRICT_DEVMEM blocks mapping the ECAM window)"
PAGE_BYTES = 4096  # one function's config space
LOAD = "load"  # ECAM's read is one access
LOAD_LABEL = "load (ECAM)"
MECHANISM = "ECAM"


def load_part(offset: int, width: int, value: int) -> SplitPart:
    return SplitPart(LOAD, LOAD_LABEL, MECHANISM, PART, offset, width, value)


@dataclass(frozen=True)
class _BusRange:
    """Buses first..last of one ECAM window, mapped once."""

    window: EcamWindow
    first: int
    last: int
    pointer: Any

    def covers(self, bdf: Bdf) -> bool:
        return self.window.covers(bdf) and self.first <= bdf.bus <= self.last

    def function_pointer(self, bdf: Bdf) -> Any:
        return self.pointer + (ecam_offset(bdf, 0) - (self.first << BUS_SHIFT))


class EcamAccessor(ConfigAccessor):
    name = "mmio"
    help = "ECAM/MMCONFIG: loads from the MCFG window mapped through /dev/mem"
    color = "tab:orange"
    raw = True
    accesses = (LOAD,)

    def __init__(self, dev_mem: Path = DEV_MEM) -> None:
        super().__init__()
        self.dev_mem = dev_mem
        self.windows: list[EcamWindow] = []
        self._fd = -1
        self._pages: dict[Bdf, Any] = {}
        self._bus_ranges: list[_BusRange] = []
        self._mappings: list[tuple[Any, int]] = []  # (native pointer, length) to unmap

    def detect(self) -> Detection:
        try:
            windows = read_ecam_windows()
        except CfgbenchError as exc:
            return Detection(False, exc.cause, exc.fix)
        where = "; ".join(str(w) for w in windows)
        if not self.dev_mem.exists():
            return Detection(False, f"{self.dev_mem} does not exist", "use a kernel built with CONFIG_DEVMEM")
        blocker = raw_access_blocker(str(self.dev_mem))
        if blocker:
            return Detection(False, *blocker)
        if RELAXED_IOMEM not in kernel_cmdline().split():
            # Only mapping tells, and detect() never touches /dev/mem.
            return Detection(True, f"{where}; may need iomem=relaxed if the kernel has IO_STRICT_DEVMEM")
        return Detection(True, where)

    def _open(self) -> None:
        self.windows = read_ecam_windows()
        try:
            # O_SYNC: an uncached mapping, as device memory needs (pciutils: O_DSYNC).
            self._fd = os.open(self.dev_mem, os.O_RDONLY | os.O_SYNC)
        except FileNotFoundError:
            raise CfgbenchError(f"{self.dev_mem} does not exist", "use a kernel built with CONFIG_DEVMEM") from None
        except PermissionError:
            raise CfgbenchError(f"cannot open {self.dev_mem} (permission denied)", self._denied_fix()) from None

    def _close(self) -> None:
        for pointer, length in self._mappings:
            lib.cfg_unmap_config(pointer, length)
        self._mappings.clear()
        self._pages.clear()
        self._bus_ranges.clear()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def window_for(self, bdf: Bdf) -> EcamWindow:
        return ecam_window_for(bdf, self.windows)

    def check_reach(self, bdf: Bdf, offset: int, width: int) -> None:
        if bdf.in_vmd_domain:
            raise CfgbenchError(f"{bdf} is in VMD domain {bdf.domain:x}, whose ECAM is not in the MCFG table", VMD_FIX)
        super().check_reach(bdf, offset, width)
        self.window_for(bdf)

    def target_metadata(self, bdf: Bdf) -> dict[str, str]:
        return {ECAM_WINDOW: str(self.window_for(bdf))}

    def prepare_targets(self, bdfs: Iterable[Bdf]) -> None:
        """Many functions (a scan) read through one mapping of their bus range per window, not a page each."""
        functions = set(bdfs)
        if len(functions) < 2:
            return
        by_window: dict[EcamWindow, list[int]] = {}
        for bdf in functions:
            self.check_reach(bdf, 0, 4)
            by_window.setdefault(self.window_for(bdf), []).append(bdf.bus)
        for window, buses in by_window.items():
            first, last = min(buses), max(buses)
            if any(r.window == window and r.first <= first and last <= r.last for r in self._bus_ranges):
                continue
            address = window.base + (first << BUS_SHIFT)
            pointer = self._map(address, (last - first + 1) << BUS_SHIFT, f"buses {first:02x}-{last:02x} of {window}")
            self._bus_ranges.append(_BusRange(window, first, last, pointer))

    def _function_pointer(self, bdf: Bdf) -> Any:
        """Its bus range if prepared, else its own page."""
        for bus_range in self._bus_ranges:
            if bus_range.covers(bdf):
                return bus_range.function_pointer(bdf)
        if bdf not in self._pages:
            address = self.window_for(bdf).function_address(bdf)
            self._pages[bdf] = self._map(address, PAGE_BYTES, f"page {address:#x} of {bdf}")
        return self._pages[bdf]

    def _map(self, address: int, length: int, what: str) -> Any:
        """Read-only, unmapped by close()."""
        mapping = ffi.new("void **")
        err = lib.cfg_map_config(self._fd, address, length, mapping)
        if err:
            if err == errno.EPERM:
                raise CfgbenchError(f"the kernel refused to map ECAM {what} from {self.dev_mem}", self._denied_fix())
            raise CfgbenchError(f"mapping ECAM {what} failed: {os.strerror(err)}", "check the MCFG window (cfgbench info)")
        pointer = ffi.cast("const volatile uint8_t *", mapping[0])
        self._mappings.append((mapping[0], length))
        return pointer

    def _denied_fix(self) -> str:
        blocker = raw_access_blocker(str(self.dev_mem))
        if blocker:
            return blocker[1]
        if RELAXED_IOMEM not in kernel_cmdline().split():
            return RELAXED_FIX
        return "the kernel forbids this mapping; use --method=kernel"

    def _fill_target(self, target: Any, bdf: Bdf, offset: int, width: int) -> None:
        target.kind = lib.CFG_KIND_MEM
        target.mem = self._function_pointer(bdf) + offset

    def split_parts(self, bdf: Bdf, offset: int, width: int, value: int) -> list[SplitPart]:
        """The whole read, timed again: its agreement with the read shows how closely two benchmarks of one thing agree."""
        return [load_part(offset, width, value)]

    def _fill_access(self, target: Any, bdf: Bdf, offset: int, width: int, access: str) -> None:
        """The load is the read's own target."""
