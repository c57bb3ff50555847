"""kernel: pread of /sys/bus/pci/devices/BDF/config, and its floor (docs/design.md, "The kernel floor")."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cfgbench._native import lib
from cfgbench.access.base import NOTHING_READ, ConfigAccessor, Detection, SplitPart
from cfgbench.address import Bdf, check_access, parse_bdf
from cfgbench.errors import CfgbenchError
from cfgbench.pci import sysfs_devices
from cfgbench.platform import SUDO_FIX
from cfgbench.schema import FLOOR, KERNEL_FLOOR, KERNEL_FLOOR_RETURNS_IN

UNPRIVILEGED_BYTES = 64  # all the kernel shows without CAP_SYS_ADMIN (pci-sysfs.c)
FLOOR_ACCESS = "floor"
FLOOR_LABEL = "kernel floor"
MECHANISM = "kernel"
NOBODY = 65534  # the effective user root opens the floor's descriptor as
FLOOR_NOT_EMPTY = ("the kernel returned bytes at the floor's offset (a CardBus header shows 128 bytes, or this "
                   "descriptor may read more than the file says): the floor is not timed")


def _descriptor_without_admin(path: Path) -> int | None:
    """Root's floor: the file opened as nobody (pci_read_config checks the opener); None where seteuid is refused."""
    try:
        os.seteuid(NOBODY)
    except OSError:
        return None
    try:
        return os.open(path, os.O_RDONLY)
    except OSError:
        return None
    finally:
        os.seteuid(0)


def config_path(bdf: Bdf, root: Path | None = None) -> Path:
    return (root or sysfs_devices()) / str(bdf) / "config"


def floor_part(metadata: dict[str, str] | None = None) -> SplitPart:
    """One per function: the path up to the access does not depend on the offset."""
    return SplitPart(FLOOR_ACCESS, FLOOR_LABEL, MECHANISM, FLOOR, 0, 4, NOTHING_READ, per_device=True,
                     unverified=FLOOR_NOT_EMPTY, metadata=metadata or {})


class SysfsAccessor(ConfigAccessor):
    name = "kernel"
    help = "the kernel's own path: pread of /sys/bus/pci/devices/BDF/config"
    color = "tab:green"
    accesses = (FLOOR_ACCESS,)

    def __init__(self, root: Path | None = None, floor_without_admin: bool = True) -> None:
        super().__init__()
        self.root = root or sysfs_devices()
        self.floor_without_admin = floor_without_admin
        self._fds: dict[Bdf, int] = {}
        self._sizes: dict[Bdf, int] = {}
        self._floors: dict[Bdf, tuple[int, int, dict[str, str]]] = {}  # descriptor, offset, metadata
        self._floor_fds: list[int] = []

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
        for fd in [*self._fds.values(), *self._floor_fds]:
            os.close(fd)
        self._fds.clear()
        self._floor_fds.clear()
        self._floors.clear()
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

    def enumerated(self) -> set[Bdf]:
        return {parse_bdf(entry.name) for entry in self.root.iterdir()} if self.root.is_dir() else set()

    def _file_size(self, bdf: Bdf) -> int:
        if bdf not in self._sizes:
            try:
                self._sizes[bdf] = os.stat(config_path(bdf, self.root)).st_size
            except FileNotFoundError:
                raise CfgbenchError(f"no PCI function {bdf} in {self.root}", "pick one from `cfgbench list`") from None
        return self._sizes[bdf]

    def space_size(self, bdf: Bdf) -> int:
        """What this process may read."""
        size = self._file_size(bdf)
        return size if os.geteuid() == 0 else min(size, UNPRIVILEGED_BYTES)

    def check_reach(self, bdf: Bdf, offset: int, width: int) -> None:
        check_access(offset, width, self._file_size(bdf))
        if offset + width > UNPRIVILEGED_BYTES and os.geteuid() != 0:
            raise CfgbenchError(f"the kernel shows normal users only the first {UNPRIVILEGED_BYTES} bytes of config space",
                                SUDO_FIX)

    def _fill_target(self, target: Any, bdf: Bdf, offset: int, width: int) -> None:
        target.kind = lib.CFG_KIND_PREAD
        target.fd = self._fd(bdf)
        target.file_offset = offset

    def _floor(self, bdf: Bdf) -> tuple[int, int, dict[str, str]]:
        """(descriptor, offset, metadata): a pread that takes the path up to the access and returns 0 bytes there."""
        if bdf not in self._floors:
            if os.geteuid() != 0:
                self._floors[bdf] = (self._fd(bdf), UNPRIVILEGED_BYTES, {
                    KERNEL_FLOOR: f"pread at {UNPRIVILEGED_BYTES:#x} of the reads' own descriptor, the end of what a "
                               "normal user may read",
                    KERNEL_FLOOR_RETURNS_IN: "pci_read_config"})
            elif self.floor_without_admin and (fd := _descriptor_without_admin(config_path(bdf, self.root))) is not None:
                self._floor_fds.append(fd)
                self._floors[bdf] = (fd, UNPRIVILEGED_BYTES, {
                    KERNEL_FLOOR: f"pread at {UNPRIVILEGED_BYTES:#x} of a descriptor opened without CAP_SYS_ADMIN, the "
                               "end of what it may read",
                    KERNEL_FLOOR_RETURNS_IN: "pci_read_config"})
            else:
                size = self._file_size(bdf)
                self._floors[bdf] = (self._fd(bdf), size, {
                    KERNEL_FLOOR: f"pread at {size:#x}, the end of the file (sysfs stops before pci_read_config: "
                               "the floor lacks its capability check)",
                    KERNEL_FLOOR_RETURNS_IN: "sysfs_kf_bin_read"})
        return self._floors[bdf]

    def split_parts(self, bdf: Bdf, offset: int, width: int, value: int) -> list[SplitPart]:
        _, _, metadata = self._floor(bdf)
        return [floor_part(metadata)]

    def _fill_access(self, target: Any, bdf: Bdf, offset: int, width: int, access: str) -> None:
        target.kind = lib.CFG_KIND_PREAD_FLOOR
        target.fd, target.file_offset, _ = self._floor(bdf)
