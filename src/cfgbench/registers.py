"""Config-space registers as setpci(8) writes them (its `pci_reg_names` and `parse_op`), for every offset the CLI takes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from cfgbench.address import HEX_NUMBER, Bdf
from cfgbench.capabilities import ReadFn, extended_capabilities, standard_capabilities
from cfgbench.errors import CfgbenchError
from cfgbench.pci_regs import EXTENDED_CONFIG_SIZE, HEADER_LAYOUT_MASK, HEADER_TYPE, capability_ids

DEFAULT_WIDTH = 4  # a bare address without a width, as cfgbench has always read
WIDTH_SUFFIXES = {"B": 1, "W": 2, "L": 4}
SYNTAX = ("hex as setpci takes it: 40 or 0x40, a name such as COMMAND or BASE_ADDRESS_0, "
          "CAP_PM or ECAP_AER (or CAP10, ECAP1) for a capability, then +hex, .B/.W/.L for 1, 2 or 4 bytes, "
          "@N for the N-th such capability, from 0")
HELP = (f"config-space register, {SYNTAX}; a named register brings its width unless -w is given "
        "[default: 0; -m kernel alone: 0 and 0x100, its type 1 and ECAM paths]")

# Header layouts a named register exists in: setpci's hdr_type_mask.
ALL: frozenset[int] = frozenset()
TYPE0, TYPE0_1, TYPE1, TYPE2 = frozenset({0}), frozenset({0, 1}), frozenset({1}), frozenset({2})


@dataclass(frozen=True)
class NamedRegister:
    offset: int
    width: int
    layouts: frozenset[int] = ALL  # empty: every header layout


# pciutils setpci.c, pci_reg_names: the standard header of each layout.
NAMED: dict[str, NamedRegister] = {
    "VENDOR_ID": NamedRegister(0x00, 2), "DEVICE_ID": NamedRegister(0x02, 2),
    "COMMAND": NamedRegister(0x04, 2), "STATUS": NamedRegister(0x06, 2),
    "REVISION": NamedRegister(0x08, 1), "CLASS_PROG": NamedRegister(0x09, 1),
    "CLASS_DEVICE": NamedRegister(0x0A, 2), "CACHE_LINE_SIZE": NamedRegister(0x0C, 1),
    "LATENCY_TIMER": NamedRegister(0x0D, 1), "HEADER_TYPE": NamedRegister(0x0E, 1), "BIST": NamedRegister(0x0F, 1),
    "BASE_ADDRESS_0": NamedRegister(0x10, 4, TYPE0_1), "BASE_ADDRESS_1": NamedRegister(0x14, 4, TYPE0_1),
    "BASE_ADDRESS_2": NamedRegister(0x18, 4, TYPE0), "BASE_ADDRESS_3": NamedRegister(0x1C, 4, TYPE0),
    "BASE_ADDRESS_4": NamedRegister(0x20, 4, TYPE0), "BASE_ADDRESS_5": NamedRegister(0x24, 4, TYPE0),
    "CARDBUS_CIS": NamedRegister(0x28, 4, TYPE0), "SUBSYSTEM_VENDOR_ID": NamedRegister(0x2C, 2, TYPE0),
    "SUBSYSTEM_ID": NamedRegister(0x2E, 2, TYPE0), "ROM_ADDRESS": NamedRegister(0x30, 4, TYPE0),
    "CAPABILITIES": NamedRegister(0x34, 1, TYPE0_1),
    "CAPABILITY_LIST": NamedRegister(0x34, 1, TYPE0_1),  # Linux's name (PCI_CAPABILITY_LIST) for setpci's CAPABILITIES
    "INTERRUPT_LINE": NamedRegister(0x3C, 1, TYPE0_1), "INTERRUPT_PIN": NamedRegister(0x3D, 1, TYPE0_1),
    "MIN_GNT": NamedRegister(0x3E, 1, TYPE0), "MAX_LAT": NamedRegister(0x3F, 1, TYPE0),
    "PRIMARY_BUS": NamedRegister(0x18, 1, TYPE1), "SECONDARY_BUS": NamedRegister(0x19, 1, TYPE1),
    "SUBORDINATE_BUS": NamedRegister(0x1A, 1, TYPE1), "SEC_LATENCY_TIMER": NamedRegister(0x1B, 1, TYPE1),
    "IO_BASE": NamedRegister(0x1C, 1, TYPE1), "IO_LIMIT": NamedRegister(0x1D, 1, TYPE1),
    "SEC_STATUS": NamedRegister(0x1E, 2, TYPE1), "MEMORY_BASE": NamedRegister(0x20, 2, TYPE1),
    "MEMORY_LIMIT": NamedRegister(0x22, 2, TYPE1), "PREF_MEMORY_BASE": NamedRegister(0x24, 2, TYPE1),
    "PREF_MEMORY_LIMIT": NamedRegister(0x26, 2, TYPE1), "PREF_BASE_UPPER32": NamedRegister(0x28, 4, TYPE1),
    "PREF_LIMIT_UPPER32": NamedRegister(0x2C, 4, TYPE1), "IO_BASE_UPPER16": NamedRegister(0x30, 2, TYPE1),
    "IO_LIMIT_UPPER16": NamedRegister(0x32, 2, TYPE1), "BRIDGE_ROM_ADDRESS": NamedRegister(0x38, 4, TYPE1),
    "BRIDGE_CONTROL": NamedRegister(0x3E, 2, TYPE1),
    "CB_CARDBUS_BASE": NamedRegister(0x10, 4, TYPE2), "CB_CAPABILITIES": NamedRegister(0x14, 2, TYPE2),
    "CB_SEC_STATUS": NamedRegister(0x16, 2, TYPE2), "CB_BUS_NUMBER": NamedRegister(0x18, 1, TYPE2),
    "CB_CARDBUS_NUMBER": NamedRegister(0x19, 1, TYPE2), "CB_SUBORDINATE_BUS": NamedRegister(0x1A, 1, TYPE2),
    "CB_CARDBUS_LATENCY": NamedRegister(0x1B, 1, TYPE2), "CB_MEMORY_BASE_0": NamedRegister(0x1C, 4, TYPE2),
    "CB_MEMORY_LIMIT_0": NamedRegister(0x20, 4, TYPE2), "CB_MEMORY_BASE_1": NamedRegister(0x24, 4, TYPE2),
    "CB_MEMORY_LIMIT_1": NamedRegister(0x28, 4, TYPE2), "CB_IO_BASE_0": NamedRegister(0x2C, 2, TYPE2),
    "CB_IO_BASE_0_HI": NamedRegister(0x2E, 2, TYPE2), "CB_IO_LIMIT_0": NamedRegister(0x30, 2, TYPE2),
    "CB_IO_LIMIT_0_HI": NamedRegister(0x32, 2, TYPE2), "CB_IO_BASE_1": NamedRegister(0x34, 2, TYPE2),
    "CB_IO_BASE_1_HI": NamedRegister(0x36, 2, TYPE2), "CB_IO_LIMIT_1": NamedRegister(0x38, 2, TYPE2),
    "CB_IO_LIMIT_1_HI": NamedRegister(0x3A, 2, TYPE2), "CB_SUBSYSTEM_VENDOR_ID": NamedRegister(0x40, 2, TYPE2),
    "CB_SUBSYSTEM_ID": NamedRegister(0x42, 2, TYPE2), "CB_LEGACY_MODE_BASE": NamedRegister(0x44, 4, TYPE2),
}

# Capability names -> IDs, as setpci knows them (pci_regs holds the one table).
CAPABILITIES = capability_ids(extended=False)
EXTENDED_CAPABILITIES = capability_ids(extended=True)


@dataclass(frozen=True)
class RegisterSpec:
    """A register as written, before any device is read."""

    text: str
    address: int  # the hex address, the named register's offset, or 0 from a capability
    width: int | None  # from .B/.W/.L
    name: str = ""  # a named register or capability, upper case
    named_width: int | None = None
    layouts: frozenset[int] = ALL
    capability: tuple[bool, int] | None = None  # (extended, ID)
    instance: int = 0  # @N: the N-th capability with that ID

    @property
    def needs_device(self) -> bool:
        """Whether resolving it reads the device (a capability walk, a header check)."""
        return self.capability is not None or bool(self.layouts)


@dataclass(frozen=True)
class Register:
    """Where a read goes: offset and width, and the name it was asked by."""

    offset: int
    width: int
    label: str = ""  # e.g. COMMAND, CAP_PM+2; empty for a plain address

    def describe(self) -> str:
        named = f" {self.label}" if self.label else ""
        return f"register {self.offset:#05x}{named} ({self.width} byte{'s' if self.width > 1 else ''})"


def _refuse(text: str, why: str) -> CfgbenchError:
    return CfgbenchError(f"{text!r} is not a config-space offset: {why}", f"write it {SYNTAX}")


def _hex(text: str) -> int | None:
    return int(text, 16) if HEX_NUMBER.fullmatch(text) else None


def parse_register(text: str) -> RegisterSpec:
    """Split as setpci does: '@', then '.', then '+'; then the base."""
    text = text.strip()
    if "=" in text:
        raise CfgbenchError(f"{text!r} writes a value, as setpci's REG=VALUE does", "cfgbench only reads: drop the =VALUE")
    base, _, number = text.partition("@")
    base, dot, suffix = base.partition(".")
    base, plus, offset_text = base.partition("+")
    width = WIDTH_SUFFIXES.get(suffix.upper()) if dot else None
    if dot and width is None:
        raise _refuse(text, f"width suffix {suffix!r} is not B, W or L")
    instance = _hex(number) if "@" in text else 0
    if instance is None:
        raise _refuse(text, f"capability number {number!r} is not hex")
    extra = _hex(offset_text) if plus else 0
    if extra is None or extra >= EXTENDED_CONFIG_SIZE:
        raise _refuse(text, f"+{offset_text} is not a hex offset below 0x1000")
    spec = _base(text, base, width, instance)
    label = spec.name + (f"+{offset_text}" if plus and spec.name else "")
    spec = dataclasses.replace(spec, address=spec.address + extra, name=label)
    if spec.capability is None and spec.address >= EXTENDED_CONFIG_SIZE:
        raise CfgbenchError(f"register {spec.address:#x} is outside the 4096-byte config space", "use an offset from 0 to 0xfff")
    if "@" in text and spec.capability is None:
        raise _refuse(text, "@N picks among capabilities of one ID; this is not a capability")
    return spec


def _base(text: str, base: str, width: int | None, instance: int) -> RegisterSpec:
    address = _hex(base)
    if address is not None:
        return RegisterSpec(text, address, width, instance=instance)
    name = base.upper()
    if name in NAMED:
        named = NAMED[name]
        return RegisterSpec(text, named.offset, width, name, named.width, named.layouts, instance=instance)
    if name in CAPABILITIES:
        return RegisterSpec(text, 0, width, name, capability=(False, CAPABILITIES[name]), instance=instance)
    if name in EXTENDED_CAPABILITIES:
        return RegisterSpec(text, 0, width, name, capability=(True, EXTENDED_CAPABILITIES[name]), instance=instance)
    for prefix, extended, limit in (("ECAP", True, 0x1000), ("CAP", False, 0x100)):
        if name.startswith(prefix) and (cap_id := _hex(name[len(prefix):])) is not None and cap_id < limit:
            return RegisterSpec(text, 0, width, name, capability=(extended, cap_id), instance=instance)
    raise _refuse(text, "neither hex nor a register or capability name setpci knows")


def resolve(spec: RegisterSpec, width_option: int | None, bdf: Bdf, read: ReadFn | None = None,
            space_size: int = EXTENDED_CONFIG_SIZE) -> Register:
    """The offset (a capability's found through `read`) and width: the suffix's, else -w, else the register's, else 4."""
    if spec.width and width_option and spec.width != width_option:
        raise CfgbenchError(f"{spec.text!r} asks for {spec.width} bytes but -w says {width_option}", "give the width once")
    width = spec.width or width_option or spec.named_width or DEFAULT_WIDTH
    if not spec.needs_device:
        return Register(spec.address, width, spec.name)
    if read is None:
        raise RuntimeError(f"resolving {spec.text!r} needs a reader")
    layout = read(bdf, HEADER_TYPE, 1) & HEADER_LAYOUT_MASK
    if spec.layouts and layout not in spec.layouts:
        raise CfgbenchError(f"{bdf} has a type {layout} header, which has no {spec.name.split('+')[0]}",
                            "pick a register of its header layout (setpci --dumpregs lists them)")
    offset = spec.address
    if spec.capability is not None:
        offset += _capability_offset(spec, read, bdf, space_size, layout)
    return Register(offset, width, spec.name)


def _capability_offset(spec: RegisterSpec, read: ReadFn, bdf: Bdf, space_size: int, layout: int) -> int:
    assert spec.capability is not None
    extended, cap_id = spec.capability
    found = (extended_capabilities(read, bdf, space_size) if extended
             else standard_capabilities(read, bdf, space_size, layout))
    matching = [c.offset for c in found if c.cap_id == cap_id]
    if spec.instance < len(matching):
        return matching[spec.instance]
    kind = "extended capability" if extended else "capability"
    have = f"it has {len(matching)}" if matching else "it has none"
    reach = "" if extended or space_size > 0x40 else " in the 64 bytes a normal user may read"
    raise CfgbenchError(f"{bdf} has no {kind} {cap_id:#x} number {spec.instance} ({spec.name}){reach}: {have}",
                        "list its capabilities with lspci -vv")


class DeviceReader(Protocol):
    """What resolving a name reads through: an opened access method."""

    def read(self, bdf: Bdf, offset: int, width: int) -> int: ...

    def space_size(self, bdf: Bdf) -> int: ...


def resolve_all(bdfs: Sequence[Bdf], texts: Sequence[str], width_option: int | None,
                open_reader: Callable[[], AbstractContextManager[DeviceReader]]) -> list[tuple[Bdf, Register]]:
    """Every register at every device: all text parsed before any device is read, and a reader opened only if needed."""
    specs = [parse_register(text) for text in texts]
    if not any(spec.needs_device for spec in specs):
        return [(bdf, resolve(spec, width_option, bdf)) for bdf in bdfs for spec in specs]
    with open_reader() as reader:
        return [(bdf, resolve(spec, width_option, bdf, reader.read, reader.space_size(bdf)))
                for bdf in bdfs for spec in specs]
