"""Standard config-space registers, their bits, and the one capability table (as pciutils' lib/header.h)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Literal, NamedTuple

LEGACY_CONFIG_SIZE = 256  # what type 1 reaches
EXTENDED_CONFIG_SIZE = 4096  # what ECAM reaches
EXTENDED_START = LEGACY_CONFIG_SIZE  # the first extended capability's header (zero when the list is empty)
ALL_ONES = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFF_FFFF}  # what a read returns where no function answers

VENDOR_ID = 0x00  # the vendor/device dword starts here
STATUS = 0x06
STATUS_CAP_LIST = 1 << 4
CLASS_DEVICE = 0x0A  # base class and subclass
CLASS_HOST_BRIDGE = 0x0600
CLASS_DISPLAY = 0x0300
HEADER_DWORD = 0x0C  # cache line size, latency timer, header type, BIST
HEADER_TYPE = 0x0E
HEADER_MULTI_FUNCTION = 0x80
HEADER_LAYOUT_MASK = 0x7F
HEADER_END = 0x40  # of layouts 0 and 1
HEADER_END_BY_LAYOUT = {0: HEADER_END, 1: HEADER_END, 2: 0x48}  # CardBus bridges have a longer header
COMMON_HEADER_END = 0x10  # what every layout shares: IDs, command, status, class, header type, BIST
CAP_POINTER_BY_LAYOUT = {0: 0x34, 1: 0x34, 2: 0x14}
FIRST_CAP = HEADER_END  # a capability pointer below it ends the list
CAP_HEADER_BYTES = 4

CAP_FLAGS = 0x02  # MSI's and PCI Express's flags word, which sizes them
MSI_FLAGS_64BIT = 1 << 7
MSI_FLAGS_MASKBIT = 1 << 8
EXP_FLAGS_VERSION = 0xF

CAP_VENDOR = 0x09
ECAP_VENDOR = 0x000B
ECAP_DVSEC = 0x0023


def _msi_size(flags: int) -> int:
    """10 bytes; 64-bit addresses add 4, per-vector masking 10 (mask and pending bits)."""
    return 10 + 4 * bool(flags & MSI_FLAGS_64BIT) + 10 * bool(flags & MSI_FLAGS_MASKBIT)


def _pcie_size(flags: int) -> int:
    """Version 1 ends after the root registers; version 2 adds the *2 registers."""
    return 0x24 if flags & EXP_FLAGS_VERSION == 1 else 0x3C


VARIABLE: Final = "variable"  # specified registers whose count varies
# Bytes a structure spans: a number, a function of its CAP_FLAGS word, VARIABLE, or None (nobody here vouches for it).
SizeRule = int | Callable[[int], int] | Literal["variable"] | None


class CapabilityKind(NamedTuple):
    setpci: str  # setpci's name; "" where it has none
    description: str
    size: SizeRule = None


CAP_KINDS: dict[int, CapabilityKind] = {
    0x01: CapabilityKind("CAP_PM", "power management", 8),
    0x02: CapabilityKind("CAP_AGP", "AGP", 12),
    0x03: CapabilityKind("CAP_VPD", "VPD", 8),
    0x04: CapabilityKind("CAP_SLOTID", "slot identification", 4),
    0x05: CapabilityKind("CAP_MSI", "MSI", _msi_size),
    0x06: CapabilityKind("CAP_CHSWP", "CompactPCI hot swap", 4),
    0x07: CapabilityKind("CAP_PCIX", "PCI-X", 8),  # command and status; not the ECC registers of later versions
    0x08: CapabilityKind("CAP_HT", "HyperTransport", VARIABLE),
    0x09: CapabilityKind("CAP_VNDR", "vendor-specific"),
    0x0A: CapabilityKind("CAP_DBG", "debug port", 4),
    0x0B: CapabilityKind("CAP_CCRC", "CompactPCI central resource control"),
    0x0C: CapabilityKind("CAP_HOTPLUG", "PCI hot-plug"),
    0x0D: CapabilityKind("CAP_SSVID", "bridge subsystem ID", 8),
    0x0E: CapabilityKind("CAP_AGP3", "AGP 8x"),
    0x0F: CapabilityKind("CAP_SECURE", "secure device"),
    0x10: CapabilityKind("CAP_EXP", "PCI Express", _pcie_size),
    0x11: CapabilityKind("CAP_MSIX", "MSI-X", 12),
    0x12: CapabilityKind("CAP_SATA", "SATA", 8),  # not the optional index/data pair: a window onto AHCI registers
    0x13: CapabilityKind("CAP_AF", "advanced features", 6),
    0x14: CapabilityKind("CAP_EA", "enhanced allocation", VARIABLE),
}

ECAP_KINDS: dict[int, CapabilityKind] = {
    0x0000: CapabilityKind("", "null extended capability", CAP_HEADER_BYTES),
    0x0001: CapabilityKind("ECAP_AER", "advanced error reporting", 0x48),
    0x0002: CapabilityKind("ECAP_VC", "virtual channel", VARIABLE),
    0x0003: CapabilityKind("ECAP_DSN", "device serial number", 0x0C),
    0x0004: CapabilityKind("ECAP_PB", "power budgeting", 0x10),
    0x0005: CapabilityKind("ECAP_RCLINK", "root complex link declaration", VARIABLE),
    0x0006: CapabilityKind("ECAP_RCILINK", "root complex internal link control", 0x0C),
    0x0007: CapabilityKind("ECAP_RCEC", "root complex event collector association", 0x0C),
    0x0008: CapabilityKind("ECAP_MFVC", "multi-function virtual channel", VARIABLE),
    0x0009: CapabilityKind("ECAP_VC2", "virtual channel", VARIABLE),
    0x000A: CapabilityKind("ECAP_RBCB", "root complex register block header", 0x14),
    0x000B: CapabilityKind("ECAP_VNDR", "vendor-specific"),
    0x000D: CapabilityKind("ECAP_ACS", "access control services", VARIABLE),
    0x000E: CapabilityKind("ECAP_ARI", "alternative routing-ID interpretation", 8),
    0x000F: CapabilityKind("ECAP_ATS", "address translation services", 8),
    0x0010: CapabilityKind("ECAP_SRIOV", "SR-IOV", 0x40),
    0x0011: CapabilityKind("ECAP_MRIOV", "MR-IOV"),
    0x0012: CapabilityKind("ECAP_MCAST", "multicast", 0x30),
    0x0013: CapabilityKind("ECAP_PRI", "page request", 0x10),
    0x0015: CapabilityKind("ECAP_REBAR", "resizable BAR", VARIABLE),
    0x0016: CapabilityKind("ECAP_DPA", "dynamic power allocation", VARIABLE),
    0x0017: CapabilityKind("ECAP_TPH", "TLP processing hints", VARIABLE),
    0x0018: CapabilityKind("ECAP_LTR", "latency tolerance reporting", 8),
    0x0019: CapabilityKind("ECAP_SECPCI", "secondary PCI Express", VARIABLE),
    0x001A: CapabilityKind("ECAP_PMUX", "protocol multiplexing"),
    0x001B: CapabilityKind("ECAP_PASID", "PASID", 8),
    0x001C: CapabilityKind("ECAP_LNR", "LN requester"),
    0x001D: CapabilityKind("ECAP_DPC", "downstream port containment", VARIABLE),
    0x001E: CapabilityKind("ECAP_L1PM", "L1 PM substates", 0x10),
    0x001F: CapabilityKind("ECAP_PTM", "precision time measurement", 0x0C),
    0x0020: CapabilityKind("ECAP_M_PCIE", "PCI Express over M-PHY"),
    0x0021: CapabilityKind("ECAP_FRS", "FRS queueing"),
    0x0022: CapabilityKind("ECAP_RTR", "readiness time reporting"),
    0x0023: CapabilityKind("ECAP_DVSEC", "designated vendor-specific"),
    0x0024: CapabilityKind("ECAP_VF_REBAR", "VF resizable BAR"),
    0x0025: CapabilityKind("ECAP_DLNK", "data link feature", 0x0C),
    0x0026: CapabilityKind("ECAP_16GT", "physical layer 16 GT/s", VARIABLE),
    0x0027: CapabilityKind("ECAP_LMR", "lane margining at the receiver"),
    0x0028: CapabilityKind("ECAP_HIER_ID", "hierarchy ID"),
    0x0029: CapabilityKind("ECAP_NPEM", "native PCIe enclosure management"),
    0x002A: CapabilityKind("ECAP_32GT", "physical layer 32 GT/s"),
    0x0030: CapabilityKind("ECAP_IDE", "integrity and data encryption"),
    0x0031: CapabilityKind("ECAP_64GT", "physical layer 64 GT/s"),
}


def capability_ids(extended: bool) -> dict[str, int]:
    """setpci's capability names -> IDs (CAP_PM -> 0x01, ECAP_AER -> 0x0001)."""
    table = ECAP_KINDS if extended else CAP_KINDS
    return {kind.setpci: cap_id for cap_id, kind in table.items() if kind.setpci}
