"""kernel: pread of /sys/bus/pci/devices/BDF/config, whatever path the kernel takes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cfgbench._native import lib
from cfgbench.access.base import ConfigAccessor, Detection
from cfgbench.address import Bdf, check_access, parse_bdf
from cfgbench.errors import CfgbenchError
from cfgbench.platform import SUDO_FIX

SYSFS_DEVICES = Path("/sys/bus/pci/devices")
# Without CAP_SYS_ADMIN the kernel shows only the first 64 bytes (pci-sysfs.c).
UNPRIVILEGED_BYTES = 64


def config_path(bdf: Bdf, root: Path = SYSFS_DEVICES) -> Path:
    return root / str(bdf) / "config"


class SysfsAccessor(ConfigAccessor):
    name = "kernel"
    help = "the kernel's own path: pread of /sys/bus/pci/devices/BDF/config"

    def __init__(self, root: Path = SYSFS_DEVICES) -> None:
        super().__init__()
        self.root = root
        self._fds: dict[Bdf, int] = {}
        self._sizes: dict[Bdf, int] = {}  # config file sizes: one stat per function

    def detect(self) -> Detection:
        if not self.root.is_dir():
            return Detection(False, f"{self.root} does not exist", "mount sysfs, or run on Linux")
        if os.geteuid() != 0:
            return Detection(True, f"as a normal user only the first {UNPRIVILEGED_BYTES} bytes are readable")
        return Detection(True, str(self.root))

    def _open(self) -> None:
        if not self.root.is_dir():
            raise CfgbenchError(f"{self.root} does not exist", "mount sysfs, or run on Linux")

    def _close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        self._sizes.clear()

    def _fd(self, bdf: Bdf) -> int:
        if bdf not in self._fds:
            path = config_path(bdf, self.root)
            try:
                self._fds[bdf] = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                raise CfgbenchError(f"no PCI function {bdf} in {self.root}", "pick one from `cfgbench list`") from None
            except PermissionError:
                raise CfgbenchError(f"cannot open {path} (permission denied)", "run as root") from None
        return self._fds[bdf]

    def functions(self) -> set[Bdf]:
        """The functions the kernel enumerated (one directory listing)."""
        return {parse_bdf(entry.name) for entry in self.root.iterdir()} if self.root.is_dir() else set()

    def _file_size(self, bdf: Bdf) -> int:
        if bdf not in self._sizes:
            try:
                self._sizes[bdf] = os.stat(config_path(bdf, self.root)).st_size
            except FileNotFoundError:
                raise CfgbenchError(f"no PCI function {bdf} in {self.root}", "pick one from `cfgbench list`") from None
        return self._sizes[bdf]

    def space_size(self, bdf: Bdf) -> int:
        """What this process may read: the kernel cuts normal users off at 64 bytes."""
        size = self._file_size(bdf)
        return size if os.geteuid() == 0 else min(size, UNPRIVILEGED_BYTES)

    def check_reach(self, bdf: Bdf, offset: int, width: int) -> None:
        check_access(offset, width, self._file_size(bdf))
        if offset + width > UNPRIVILEGED_BYTES and os.geteuid() != 0:
            raise CfgbenchError(
                f"the kernel shows normal users only the first {UNPRIVILEGED_BYTES} bytes of config space",
                SUDO_FIX,
            )

    def _fill_target(self, target: Any, bdf: Bdf, offset: int, width: int) -> None:
        target.kind = lib.CFG_KIND_PREAD
        target.fd = self._fd(bdf)
        target.file_offset = offset
