"""PCI addresses: BDF parsing, type 1 and ECAM encodings, access rules."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cfgbench.errors import CfgbenchError
from cfgbench.pci_regs import EXTENDED_CONFIG_SIZE, LEGACY_CONFIG_SIZE

TYPE1_ADDRESS_PORT = 0xCF8
TYPE1_DATA_PORT = 0xCFC
TYPE1_ENABLE = 0x8000_0000
WIDTHS = (1, 2, 4)
MAX_SEGMENT = 0xFFFF  # ACPI's; Linux numbers VMD domains from 0x10000 up (drivers/pci/controller/vmd.c)
MAX_DOMAIN = 0x7FFF_FFFF
VMD_FIX = "use --method=kernel: a VMD domain's config space sits behind the VMD device's own BAR, which only the kernel's vmd driver maps"

HEX_NUMBER = re.compile(r"(?:0[xX])?[0-9a-fA-F]+")  # setpci's numbers: hex, 0x optional
# Wider than valid (bus 100, function 8), so that those get the out-of-range message.
_BDF = re.compile(r"^(?:(?P<domain>[0-9a-fA-F]{1,8}):)?(?P<bus>[0-9a-fA-F]{1,3}):"
                  r"(?P<device>[0-9a-fA-F]{1,2})\.(?P<function>[0-9a-fA-F])$")


@dataclass(frozen=True, order=True)
class Bdf:
    """One PCI function: domain (segment), bus, device, function."""

    domain: int
    bus: int
    device: int
    function: int

    def __post_init__(self) -> None:
        limits = (("domain", MAX_DOMAIN), ("bus", 0xFF), ("device", 0x1F), ("function", 0x7))
        for field, limit in limits:
            value = getattr(self, field)
            if not 0 <= value <= limit:
                raise CfgbenchError(f"PCI {field} {value:#x} is out of range", f"use 0 to {limit:#x}")

    def __str__(self) -> str:
        return f"{self.domain:04x}:{self.bus:02x}:{self.device:02x}.{self.function}"

    @property
    def in_vmd_domain(self) -> bool:
        """In no ACPI segment: reached through the VMD device's BAR."""
        return self.domain > MAX_SEGMENT


def parse_bdf(text: str) -> Bdf:
    """'DDDD:BB:DD.F' or 'BB:DD.F', hex as lspci prints them."""
    match = _BDF.match(text.strip())
    if not match:
        raise CfgbenchError(f"{text!r} is not a PCI address", "write it as lspci -D does, e.g. 0000:00:00.0 or 00:1f.3")
    fields = [int(match[name] or "0", 16) for name in ("domain", "bus", "device", "function")]
    try:
        return Bdf(*fields)
    except CfgbenchError as exc:
        raise CfgbenchError(f"{exc.cause} in {text.strip()!r}", exc.fix) from None


def check_access(offset: int, width: int, space_size: int = EXTENDED_CONFIG_SIZE) -> None:
    """Widths 1, 2, 4; natural alignment; inside the config space."""
    if width not in WIDTHS:
        raise CfgbenchError(f"width {width} is not a config access width", "use 1, 2 or 4")
    if offset < 0 or offset + width > space_size:
        raise CfgbenchError(f"offset {offset:#x} with width {width} is outside the {space_size}-byte config space",
                            f"use an offset from 0 to {space_size - width:#x}")
    if offset % width:
        raise CfgbenchError(f"offset {offset:#x} is not aligned to the {width}-byte width", f"use a multiple of {width}")


def type1_address(bdf: Bdf, offset: int) -> int:
    """The dword written to 0xCF8."""
    if bdf.domain != 0:
        raise CfgbenchError(f"{bdf} is in PCI domain {bdf.domain:04x}; type 1 reaches domain 0 only",
                            VMD_FIX if bdf.in_vmd_domain else "use --method=mmio or --method=kernel")
    check_access(offset, 1, LEGACY_CONFIG_SIZE)
    return TYPE1_ENABLE | bdf.bus << 16 | bdf.device << 11 | bdf.function << 8 | (offset & 0xFC)


def type1_data_port(offset: int) -> int:
    """Byte and word reads take the data from 0xCFC plus the low offset bits."""
    return TYPE1_DATA_PORT + (offset & 3)


def ecam_offset(bdf: Bdf, offset: int) -> int:
    """From the ECAM base of bus 0, as Linux counts it."""
    check_access(offset, 1, EXTENDED_CONFIG_SIZE)
    return bdf.bus << 20 | bdf.device << 15 | bdf.function << 12 | offset


def format_target(bdf: Bdf, offset: int, width: int) -> str:
    return f"{bdf}+{offset:#05x}/{width}"
