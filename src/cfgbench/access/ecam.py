"""mmio (alias ecam): volatile loads from the ECAM page of one function, via /dev/mem."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

from cfgbench._native import ffi, lib
from cfgbench.access.base import ConfigAccessor, Detection
from cfgbench.address import Bdf
from cfgbench.errors import CfgbenchError
from cfgbench.mcfg import EcamWindow, ecam_window_for, read_ecam_windows
from cfgbench.platform import kernel_cmdline, raw_access_blocker

DEV_MEM = Path("/dev/mem")
RELAXED_IOMEM = "iomem=relaxed"
RELAXED_FIX = "boot with iomem=relaxed on the kernel command line (CONFIG_IO_STRICT_DEVMEM blocks mapping the ECAM window)"


class EcamAccessor(ConfigAccessor):
    name = "mmio"
    help = "ECAM/MMCONFIG: loads from the MCFG window mapped through /dev/mem"
    raw = True

    def __init__(self, dev_mem: Path = DEV_MEM) -> None:
        super().__init__()
        self.dev_mem = dev_mem
        self.windows: list[EcamWindow] = []
        self._fd = -1
        self._pages: dict[Bdf, Any] = {}  # native pointers to mapped pages

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
            # Whether the mapping is refused is only known by trying, and
            # detect() never touches /dev/mem.
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
        for page in self._pages.values():
            lib.cfg_unmap_config_page(page)
        self._pages.clear()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def window_for(self, bdf: Bdf) -> EcamWindow:
        return ecam_window_for(bdf, self.windows)

    def check_reach(self, bdf: Bdf, offset: int, width: int) -> None:
        super().check_reach(bdf, offset, width)
        self.window_for(bdf)

    def target_metadata(self, bdf: Bdf) -> dict[str, str]:
        return {"cfgbench_ecam_window": str(self.window_for(bdf))}

    def _page(self, bdf: Bdf) -> Any:
        """Map only bdf's 4 KiB page, once, read-only (cfg_map_config_page)."""
        if bdf not in self._pages:
            address = self.window_for(bdf).function_address(bdf)
            page = ffi.new("void **")
            err = lib.cfg_map_config_page(self._fd, address, page)
            if err:
                if err == errno.EPERM:
                    raise CfgbenchError(
                        f"the kernel refused to map ECAM page {address:#x} of {bdf} from {self.dev_mem}",
                        self._denied_fix(),
                    )
                raise CfgbenchError(
                    f"mapping ECAM page {address:#x} of {bdf} failed: {os.strerror(err)}",
                    "check the MCFG window (cfgbench info)",
                )
            self._pages[bdf] = page[0]
        return self._pages[bdf]

    def _denied_fix(self) -> str:
        blocker = raw_access_blocker(str(self.dev_mem))
        if blocker:
            return blocker[1]
        if RELAXED_IOMEM not in kernel_cmdline().split():
            return RELAXED_FIX
        return "the kernel forbids this mapping; use --method=kernel"

    def _fill_target(self, target: Any, bdf: Bdf, offset: int, width: int) -> None:
        target.kind = lib.CFG_KIND_MEM
        target.mem = ffi.cast("const volatile uint8_t *", self._page(bdf)) + offset
