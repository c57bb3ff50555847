"""fake: config space from an `lspci -xxxx` hex dump, for hardware-free tests (docs/design.md, "Accessor protocol")."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from cfgbench._native import ffi, lib
from cfgbench.access import ecam, pio, sysfs
from cfgbench.access.base import ConfigAccessor, Detection, SplitPart
from cfgbench.address import Bdf, parse_bdf, type1_address
from cfgbench.errors import CfgbenchError
from cfgbench.limits import read_file
from cfgbench.pci_regs import LEGACY_CONFIG_SIZE

FAKE_DUMP_ENV = "CFGBENCH_FAKE_DUMP"
ENABLE_FIX = f"to enable it, set {FAKE_DUMP_ENV} to the path of an `lspci -xxxx` dump"
# Domains have four hex digits, or more behind an Intel VMD device (10000:e0:00.0).
_HEADER = re.compile(r"^(?P<bdf>(?:[0-9a-fA-F]{4,8}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])\s")
_ROW = re.compile(r"^(?P<offset>[0-9a-fA-F]{2,3}):(?P<bytes>(?: [0-9a-fA-F]{2}){1,16})\s*$")


def parse_lspci_dump(text: str) -> dict[Bdf, bytearray]:
    """Config spaces from `lspci [-D] -xxx` or `-xxxx` output; sizes 256 or 4096."""
    spaces: dict[Bdf, bytearray] = {}
    current: bytearray | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if header := _HEADER.match(line):
            current = spaces.setdefault(parse_bdf(header["bdf"]), bytearray())
        elif row := _ROW.match(line):
            if current is None:
                raise CfgbenchError(f"dump line {number}: hex row before any device line", "use lspci -xxxx output")
            offset = int(row["offset"], 16)
            data = bytes.fromhex(row["bytes"])
            if offset != len(current):
                raise CfgbenchError(f"dump line {number}: row at {offset:#x}, expected {len(current):#x}", "use lspci -xxxx output")
            current.extend(data)
    for bdf, space in spaces.items():
        size = 4096 if len(space) > 256 else 256
        if len(space) not in (64, 256, 4096):
            raise CfgbenchError(f"dump of {bdf} has {len(space)} bytes", "use lspci -xxx or -xxxx output")
        space.extend(bytes(size - len(space)))
    return spaces


class FakeAccessor(ConfigAccessor):
    name = "fake"
    help = "config space from an lspci -xxxx dump (tests only)"
    hidden = True
    color = "tab:purple"
    accesses = (pio.ADDRESS_WRITE, pio.DATA_READ, pio.ADDRESS_READ, ecam.LOAD, sysfs.FLOOR_ACCESS)

    def __init__(self, dump: Path | None = None) -> None:
        super().__init__()
        self.dump = dump
        self.spaces: dict[Bdf, bytearray] = {}
        self._absent = bytearray(b"\xff" * 4096)  # like hardware: a missing function reads all ones
        self._pointers: dict[Bdf, Any] = {}

    @classmethod
    def offered(cls) -> bool:
        return bool(os.environ.get(FAKE_DUMP_ENV))

    @classmethod
    def can_scan(cls) -> bool:
        return True  # a dump stands in for the whole machine

    def _dump_path(self) -> Path | None:
        if self.dump is not None:
            return self.dump
        env = os.environ.get(FAKE_DUMP_ENV)
        return Path(env) if env else None

    def detect(self) -> Detection:
        path = self._dump_path()
        if path is None:
            return Detection(False, f"{FAKE_DUMP_ENV} is not set", ENABLE_FIX)
        return Detection(path.is_file(), str(path))

    def _open(self) -> None:
        path = self._dump_path()
        if path is None:
            raise CfgbenchError(f"the fake method needs {FAKE_DUMP_ENV}", ENABLE_FIX)
        dump = read_file(path, f"set {FAKE_DUMP_ENV} to an lspci -xxxx dump", limit=2**20)  # 256 functions' 4 KiB, in hex
        self.spaces = parse_lspci_dump(dump.decode(errors="replace"))

    def _space(self, bdf: Bdf) -> bytearray:
        return self.spaces.get(bdf) or self._absent

    def space_size(self, bdf: Bdf) -> int:
        return len(self._space(bdf))

    def _fill_target(self, target: Any, bdf: Bdf, offset: int, width: int) -> None:
        if bdf not in self._pointers:
            self._pointers[bdf] = self.keep(ffi.from_buffer(self._space(bdf)))
        target.kind = lib.CFG_KIND_MEM
        target.mem = self._pointers[bdf] + offset

    def split_parts(self, bdf: Bdf, offset: int, width: int, value: int) -> list[SplitPart]:
        reaches_type1 = bdf.domain == 0 and offset < LEGACY_CONFIG_SIZE
        type1 = pio.type1_parts(bdf, offset, width, value) if reaches_type1 else []
        return [*type1, ecam.load_part(offset, width, value), sysfs.floor_part()]

    def _fill_access(self, target: Any, bdf: Bdf, offset: int, width: int, access: str) -> None:
        if access in (pio.ADDRESS_WRITE, sysfs.FLOOR_ACCESS):
            target.kind = lib.CFG_KIND_NULL
        elif access == pio.ADDRESS_READ:
            latched = self.keep(ffi.new("uint32_t *", type1_address(bdf, offset)))
            target.mem = ffi.cast("const volatile uint8_t *", latched)

    def _close(self) -> None:
        self._pointers.clear()  # released by close() with the rest
