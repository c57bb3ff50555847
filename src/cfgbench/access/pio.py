"""pio: configuration mechanism #1, address to 0xCF8, data from 0xCFC..0xCFF."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

from cfgbench._native import lib
from cfgbench.access.base import NOTHING_READ, ConfigAccessor, Detection, SplitPart
from cfgbench.address import TYPE1_ADDRESS_PORT, Bdf, type1_address, type1_data_port
from cfgbench.errors import CfgbenchError
from cfgbench.pci_regs import LEGACY_CONFIG_SIZE
from cfgbench.platform import RAWIO_FIX, is_x86, online_cpu_count, raw_access_blocker
from cfgbench.schema import EXTRA, PART

PORT_COUNT = 8  # 0xCF8-0xCFF: the address dword and the four data bytes, nothing more
PORT_IO = "port I/O (ioperm/iopl)"
ADDRESS_WRITE = "address-write"
DATA_READ = "data-read"
ADDRESS_READ = "address-read"
LABELS = {ADDRESS_WRITE: "address write (0xCF8)", DATA_READ: "data read (0xCFC)", ADDRESS_READ: "address read (0xCF8)"}
MECHANISM = "type 1"
NO_READBACK = ("this host does not read the type 1 address back from 0xCF8 (Linux's pci_check_type1 would not "
               "take it for type 1 either): the address read is not timed")


def pio_hazard_warning(cpus_online: Path | None = None) -> str | None:
    """One line where type 1 timing can corrupt the kernel's config accesses (docs/safety.md); None on one CPU."""
    count = online_cpu_count(cpus_online)
    if count <= 1:
        return None
    return (f"warning: pio writes 0xCF8 without the kernel's pci_config_lock; with {count} CPUs online a kernel "
            "config access on another CPU can read the wrong register, or its write (an MSI mask, a command "
            "register) can land on the benchmarked one and be lost: prefer --method=mmio or --method=kernel, "
            "or run with one CPU online on an idle machine (docs/safety.md)")


def _acquire_ports() -> str:
    """ioperm (0xCF8-0xCFF only), else iopl(3), as pciutils does; per thread, so each process acquires its own."""
    import portio  # imported late: its C extension exists only on x86

    err, how = portio.ioperm(TYPE1_ADDRESS_PORT, PORT_COUNT, 1), "ioperm"
    if err == errno.EINVAL:
        err, how = portio.iopl(3), "iopl"
    if err:
        blocker = raw_access_blocker(PORT_IO)
        raise CfgbenchError(f"the kernel refused access to ports 0xCF8-0xCFF ({os.strerror(err)})",
                            blocker[1] if blocker else RAWIO_FIX)
    return how


def type1_parts(bdf: Bdf, offset: int, width: int, value: int) -> list[SplitPart]:
    def part(access: str, role: str, offset: int, width: int, expected: int, unverified: str = "") -> SplitPart:
        return SplitPart(access, LABELS[access], MECHANISM, role, offset, width, expected, unverified=unverified)

    return [
        part(ADDRESS_WRITE, PART, offset, width, NOTHING_READ),
        part(DATA_READ, PART, offset, width, value),
        part(ADDRESS_READ, EXTRA, offset & ~3, 4, type1_address(bdf, offset), NO_READBACK),
    ]


class PioAccessor(ConfigAccessor):
    name = "pio"
    help = "type 1 port I/O (0xCF8/0xCFC): domain 0, offsets below 0x100"
    color = "tab:blue"
    raw = True
    accesses = (ADDRESS_WRITE, DATA_READ, ADDRESS_READ)

    def __init__(self) -> None:
        super().__init__()
        self._granted = ""  # "ioperm" or "iopl"

    def detect(self) -> Detection:
        if not is_x86():
            return Detection(False, "type 1 port I/O exists only on x86", "use --method=mmio or --method=kernel")
        blocker = raw_access_blocker(PORT_IO)
        if blocker:
            return Detection(False, *blocker)
        return Detection(True, "ports 0xCF8-0xCFF via ioperm")

    def _open(self) -> None:
        if not is_x86():
            raise CfgbenchError("type 1 port I/O exists only on x86", "use --method=mmio or --method=kernel")
        self._granted = _acquire_ports()

    def _close(self) -> None:
        """Give back what was granted: a long-lived process keeps no port access."""
        import portio

        if self._granted == "iopl":
            portio.iopl(0)
        else:
            portio.ioperm(TYPE1_ADDRESS_PORT, PORT_COUNT, 0)

    @classmethod
    def mismatch_note(cls, mismatches: int, reads: int) -> str:
        return (f"WARNING: {mismatches} of {reads} reads returned another value: a kernel config access on another "
                "CPU interleaved with cfgbench's 0xCF8 writes, and kernel accesses may have been misdirected "
                "(docs/safety.md)")

    def run_warning(self) -> str | None:
        return pio_hazard_warning()

    def space_size(self, bdf: Bdf) -> int:
        return LEGACY_CONFIG_SIZE

    def check_reach(self, bdf: Bdf, offset: int, width: int) -> None:
        type1_address(bdf, 0)  # domain 0 only
        if offset >= LEGACY_CONFIG_SIZE:
            raise CfgbenchError(f"type 1 reaches only the first 256 bytes of config space, not offset {offset:#x}",
                                "use --method=mmio or --method=kernel for extended config space")
        super().check_reach(bdf, offset, width)

    def _fill_target(self, target: Any, bdf: Bdf, offset: int, width: int) -> None:
        target.kind = lib.CFG_KIND_PIO
        target.pio_address = type1_address(bdf, offset)
        target.pio_data_port = type1_data_port(offset)

    def split_parts(self, bdf: Bdf, offset: int, width: int, value: int) -> list[SplitPart]:
        """The address read is a dword `inl` of 0xCF8 only: 0xCF9 is Intel chipsets' reset control register."""
        return type1_parts(bdf, offset, width, value)

    def _fill_access(self, target: Any, bdf: Bdf, offset: int, width: int, access: str) -> None:
        target.kind = {ADDRESS_WRITE: lib.CFG_KIND_PIO_ADDRESS_WRITE, DATA_READ: lib.CFG_KIND_PIO_DATA_READ,
                       ADDRESS_READ: lib.CFG_KIND_PIO_ADDRESS_READ}[access]
