"""Which config-space offsets a benchmark may read: the standard header and the
capability structures the function advertises, found by walking its standard
and extended capability lists. Everything else (vendor-specific capabilities,
space no capability claims) is refused unless the user insists, because some
devices act on reads of their own registers (docs/safety.md says why).

The walk itself reads only registers whose meaning the PCI specifications fix
for every function: the vendor ID, status, header type, capability pointer,
each capability's ID/next/control words, vendor structures' length fields and
each extended capability header.

Length rules, in this order (each region is also cut at the end of its list's
space: 0x100 for standard capabilities, `space_size` for extended ones):
1. vendor-specific structures (capability 0x09, extended 0x000B and DVSEC
   0x0023) take the length their own header states; their header (ID, next
   pointer, length: what the walk reads) is allowed, their body is refused.
2. capabilities whose layout we know take its size (`_STANDARD` and
   `_EXTENDED` below, from the PCI and PCIe specifications; MSI and PCI
   Express compute it from their control and version fields), cut at the next
   capability's start in address order (structures never overlap).
3. standard structures of variable length that we do not compute (VC,
   Resizable BAR, HyperTransport, ...) extend to the next capability's start,
   and at most `_VARIABLE_BOUND` bytes: their registers are specified, only
   their count varies.
4. any other ID is one we cannot vouch for: only its 4-byte header is allowed.
The dword at 0x100 (the head of the extended list, zero when it is empty) is
allowed whenever the space reaches it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from cfgbench.address import LEGACY_CONFIG_SIZE, Bdf, check_access
from cfgbench.errors import CfgbenchError, no_device

ReadFn = Callable[[Bdf, int, int], int]
# A known size in bytes, or a function of (read, bdf, capability offset).
SizeRule = int | Callable[[ReadFn, Bdf, int], int] | None

ALLOW_FLAG = "--allow-any-offset"

STATUS = 0x06
STATUS_CAP_LIST = 1 << 4
HEADER_TYPE = 0x0E
HEADER_LAYOUT_MASK = 0x7F  # bit 7 is the multi-function flag
CAP_POINTER = {0: 0x34, 1: 0x34, 2: 0x14}  # header layout -> where the list starts
HEADER_END = {0: 0x40, 1: 0x40, 2: 0x48}  # CardBus bridges have a longer header
COMMON_HEADER_END = 0x10  # what every layout shares: IDs, command, status, class, header type, BIST
FIRST_CAP = 0x40  # capabilities live after the 64-byte header
EXTENDED_START = LEGACY_CONFIG_SIZE
# Linux's bounds on the walks (drivers/pci/pci.c): 48 standard, (4096-256)/8
# extended capabilities at most; the visited sets catch loops first.
STANDARD_TTL = 48
EXTENDED_TTL = (4096 - EXTENDED_START) // 8
HEADER_BYTES = 4
_VARIABLE_BOUND = {False: 0x40, True: 0x100}  # rule 3, standard / extended

VENDOR_CAP = 0x09
VENDOR_EXT_CAP = 0x000B
DVSEC_EXT_CAP = 0x0023


@dataclass(frozen=True, order=True)
class Region:
    """Config-space bytes [start, end) and what they are."""

    start: int
    end: int
    name: str

    def overlaps(self, offset: int, width: int) -> bool:
        return offset < self.end and self.start < offset + width

    def __str__(self) -> str:
        return f"{self.start:#05x}-{self.end - 1:#05x} {self.name}"


@dataclass(frozen=True)
class Capability:
    """One entry of a capability list, as found by the walk."""

    offset: int
    cap_id: int
    extended: bool

    @property
    def label(self) -> str:
        if self.extended:
            return f"extended capability {self.cap_id:#06x}"
        return f"capability {self.cap_id:#04x}"


@dataclass(frozen=True)
class SpaceMap:
    """The regions a read may touch, and the claimed regions it may not."""

    bdf: Bdf
    allowed: tuple[Region, ...]
    refused: tuple[Region, ...]

    def why_refused(self, offset: int, width: int) -> str:
        """'' when [offset, offset + width) lies in allowed regions only, else why not."""
        for region in self.refused:
            if region.overlaps(offset, width):
                return f"{region.name} ({region.start:#05x}-{region.end - 1:#05x})"
        if not _covered(offset, offset + width, self.allowed):
            return "space that neither the header nor an advertised capability claims"
        return ""


def _covered(start: int, end: int, regions: Iterable[Region]) -> bool:
    """Whether the union of regions covers [start, end)."""
    for region in sorted(regions):
        if region.start <= start < region.end:
            start = region.end
        if start >= end:
            return True
    return start >= end


# --------------------------------------------------------------------------- sizes of known layouts


def _msi_size(read: ReadFn, bdf: Bdf, pos: int) -> int:
    """10, 14, 20 or 24 bytes: 64-bit addresses and per-vector masking add registers."""
    control = read(bdf, pos + 2, 2)
    size = 10
    if control & (1 << 7):  # 64-bit address capable
        size += 4
    if control & (1 << 8):  # per-vector masking: mask and pending bits
        size += 10
    return size


def _pcie_size(read: ReadFn, bdf: Bdf, pos: int) -> int:
    """Version 1 ends after the root registers (0x24); version 2 adds the *2 registers (0x3C)."""
    version = read(bdf, pos + 2, 2) & 0xF
    return 0x24 if version == 1 else 0x3C


# Standard capability ID -> (name, size rule). None: standard but variable (rule 3).
_STANDARD: dict[int, tuple[str, SizeRule]] = {
    0x01: ("power management", 8),
    0x02: ("AGP", 12),
    0x03: ("VPD", 8),
    0x04: ("slot identification", 4),
    0x05: ("MSI", _msi_size),
    0x06: ("CompactPCI hot swap", 4),
    0x07: ("PCI-X", 8),  # command and status; the ECC registers of later versions are left out
    0x08: ("HyperTransport", None),
    0x0A: ("debug port", 4),
    0x0D: ("bridge subsystem ID", 8),
    0x10: ("PCI Express", _pcie_size),
    0x11: ("MSI-X", 12),
    0x12: ("SATA", 8),  # not the optional index/data pair: a window onto the AHCI registers
    0x13: ("advanced features", 6),
    0x14: ("enhanced allocation", None),
}

# Extended capability ID -> (name, size rule).
_EXTENDED: dict[int, tuple[str, SizeRule]] = {
    0x0000: ("null extended capability", HEADER_BYTES),
    0x0001: ("advanced error reporting", 0x48),
    0x0002: ("virtual channel", None),
    0x0003: ("device serial number", 0x0C),
    0x0004: ("power budgeting", 0x10),
    0x0005: ("root complex link declaration", None),
    0x0006: ("root complex internal link control", 0x0C),
    0x0007: ("root complex event collector association", 0x0C),
    0x0008: ("multi-function virtual channel", None),
    0x0009: ("virtual channel", None),
    0x000A: ("root complex register block header", 0x14),
    0x000D: ("access control services", None),
    0x000E: ("alternative routing-ID interpretation", 8),
    0x000F: ("address translation services", 8),
    0x0010: ("SR-IOV", 0x40),
    0x0012: ("multicast", 0x30),
    0x0013: ("page request", 0x10),
    0x0015: ("resizable BAR", None),
    0x0016: ("dynamic power allocation", None),
    0x0017: ("TLP processing hints", None),
    0x0018: ("latency tolerance reporting", 8),
    0x0019: ("secondary PCI Express", None),
    0x001B: ("PASID", 8),
    0x001D: ("downstream port containment", None),
    0x001E: ("L1 PM substates", 0x10),
    0x001F: ("precision time measurement", 0x0C),
    0x0025: ("data link feature", 0x0C),
    0x0026: ("physical layer 16 GT/s", None),
}


def _vendor_regions(read: ReadFn, bdf: Bdf, cap: Capability, list_end: int) -> list[tuple[Region, bool]]:
    """A vendor-specific structure: its header (the bytes the walk reads, laid
    out by the specification) is allowed, the vendor-defined body is refused."""
    if cap.extended:
        # VSEC and DVSEC header 1: length in bits 31:20 of the dword after the header.
        header_end, length = cap.offset + 8, read(bdf, cap.offset + 4, 4) >> 20
    else:
        header_end, length = cap.offset + 3, read(bdf, cap.offset + 2, 1)  # ID, next, length
    where = f"{cap.label} at {cap.offset:#x}"
    header_end = min(header_end, list_end)
    body_end = min(max(cap.offset + length, header_end), list_end)
    regions = [(Region(cap.offset, header_end, f"header of vendor-specific {where}"), True)]
    if body_end > header_end:
        regions.append((Region(header_end, body_end, f"body of vendor-specific {where}"), False))
    return regions


# --------------------------------------------------------------------------- the walks


def _header_layout(read: ReadFn, bdf: Bdf) -> int:
    if read(bdf, 0x00, 2) == 0xFFFF:
        raise no_device(bdf)
    return read(bdf, HEADER_TYPE, 1) & HEADER_LAYOUT_MASK


def standard_capabilities(read: ReadFn, bdf: Bdf, space_size: int, layout: int | None = None) -> list[Capability]:
    """The standard list in list order, as Linux walks it: pointers below 0x40
    end it, the low two bits are reserved, ID 0xFF means the device is gone.
    `layout`: the header type, when the caller has read it already."""
    if layout is None:
        layout = _header_layout(read, bdf)
    limit = min(space_size, LEGACY_CONFIG_SIZE)
    if layout not in CAP_POINTER or not read(bdf, STATUS, 2) & STATUS_CAP_LIST:
        return []
    found: list[Capability] = []
    seen: set[int] = set()
    pos = read(bdf, CAP_POINTER[layout], 1)
    while len(found) < STANDARD_TTL:
        pos &= 0xFC
        if pos < FIRST_CAP or pos in seen or pos + HEADER_BYTES > limit:
            break
        seen.add(pos)
        word = read(bdf, pos, 2)
        if word & 0xFF == 0xFF:
            break
        found.append(Capability(pos, word & 0xFF, extended=False))
        pos = word >> 8
    return found


def extended_capabilities(read: ReadFn, bdf: Bdf, space_size: int) -> list[Capability]:
    """The extended list from 0x100 in list order; ends on a zero or all-ones
    header, a pointer below 0x100 or one already visited."""
    if space_size < EXTENDED_START + HEADER_BYTES:
        return []
    # Some devices ignore the upper offset bits and show their header again at
    # 0x100; Linux (pci_ext_cfg_is_aliased) then treats the space as absent.
    if read(bdf, EXTENDED_START, 4) == read(bdf, 0x00, 4):
        return []
    found: list[Capability] = []
    seen: set[int] = set()
    pos = EXTENDED_START
    while len(found) < EXTENDED_TTL:
        if pos < EXTENDED_START or pos in seen or pos + HEADER_BYTES > space_size:
            break
        seen.add(pos)
        header = read(bdf, pos, 4)
        if header in (0, 0xFFFF_FFFF):
            break
        found.append(Capability(pos, header & 0xFFFF, extended=True))
        pos = (header >> 20) & 0xFFC
    return found


# --------------------------------------------------------------------------- regions


def _next_start(cap: Capability, starts: Sequence[int], list_end: int) -> int:
    """Where the next structure of the same list begins, in address order."""
    return min((s for s in starts if s > cap.offset), default=list_end)


def _known_region(read: ReadFn, bdf: Bdf, cap: Capability, next_start: int, list_end: int) -> Region:
    """Rules 2 to 4 of the module docstring."""
    table = _EXTENDED if cap.extended else _STANDARD
    name, rule = table.get(cap.cap_id, (None, HEADER_BYTES))
    if rule is None:
        size = min(next_start - cap.offset, _VARIABLE_BOUND[cap.extended])
    elif callable(rule):
        size = rule(read, bdf, cap.offset)
    else:
        size = rule
    end = min(cap.offset + size, next_start, list_end)
    title = f"{name} ({cap.label})" if name else f"unknown {cap.label}, header only"
    return Region(cap.offset, end, title)


def _list_regions(read: ReadFn, bdf: Bdf, caps: Sequence[Capability], list_end: int) -> list[tuple[Region, bool]]:
    """Each capability's region(s), each with whether reads of it are allowed."""
    regions: list[tuple[Region, bool]] = []
    starts = [c.offset for c in caps]
    for cap in caps:
        vendor_ids = (VENDOR_EXT_CAP, DVSEC_EXT_CAP) if cap.extended else (VENDOR_CAP,)
        if cap.cap_id in vendor_ids:
            regions += _vendor_regions(read, bdf, cap, list_end)
        else:
            regions.append((_known_region(read, bdf, cap, _next_start(cap, starts, list_end), list_end), True))
    return regions


def map_config_space(read: ReadFn, bdf: Bdf, space_size: int) -> SpaceMap:
    """Walk both lists once; the map answers any number of offset questions."""
    layout = _header_layout(read, bdf)
    header_end = min(HEADER_END.get(layout, COMMON_HEADER_END), space_size)
    header_name = f"standard header (type {layout})" if layout in HEADER_END else f"common header (unknown type {layout:#x})"
    regions = [(Region(0, header_end, header_name), True)]
    if space_size >= EXTENDED_START + HEADER_BYTES:
        # PCIe puts the first extended header at 0x100 (all zero for an empty
        # list): a defined register, and the walk reads it.
        regions.append((Region(EXTENDED_START, EXTENDED_START + HEADER_BYTES, "extended capability list head"), True))
    standard = standard_capabilities(read, bdf, space_size, layout)
    regions += _list_regions(read, bdf, standard, min(space_size, LEGACY_CONFIG_SIZE))
    regions += _list_regions(read, bdf, extended_capabilities(read, bdf, space_size), space_size)
    allowed = tuple(sorted(r for r, ok in regions if ok))
    refused = tuple(sorted(r for r, ok in regions if not ok))
    return SpaceMap(bdf, allowed, refused)


def check_offset_allowed(read: ReadFn, bdf: Bdf, offset: int, width: int, space_size: int) -> None:
    """Raise CfgbenchError unless a read of width bytes at offset stays in allowed regions."""
    check_access(offset, width, space_size)
    space = map_config_space(read, bdf, space_size)
    why = space.why_refused(offset, width)
    if why:
        allowed = ", ".join(str(r) for r in space.allowed)
        raise CfgbenchError(
            f"offset {offset:#x} (width {width}) of {bdf} is in {why}, where a read may have side effects",
            f"read the header or an advertised capability ({allowed}), or add {ALLOW_FLAG} "
            "if you know this device's registers are safe to read",
        )
