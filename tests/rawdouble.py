"""A raw method for tests, over an lspci dump: never hardware.

It calls itself raw, so a run puts it through everything a raw method meets:
pciutils' sanity check (a host bridge on bus 0) and the check of every value
against the kernel's read (checks.Reference.checked, with the kernel being this
machine's real sysfs). `dump_of_this_machine` writes the dump those checks
need: this machine's own config spaces, read through sysfs, with one
register changed where a test wants a disagreement."""

from __future__ import annotations

from pathlib import Path

from cfgbench import access
from cfgbench.access.base import ConfigAccessor
from cfgbench.access.fake import FakeAccessor
from cfgbench.address import Bdf, parse_bdf
from cfgbench.pci import SYSFS_DEVICES

# The register the tests change: the device ID, which nothing changes at run time.
DEVICE_ID = 0x02


class RawDump(FakeAccessor):
    """Raw, and reads the dump of CFGBENCH_FAKE_DUMP (or the one given)."""

    name = "rawdump"
    help = "a raw method over an lspci dump (tests only)"
    raw = True

    def open(self) -> None:
        # No port and no /dev/mem behind it: the raw-access guard has nothing to keep it from.
        self._open()
        self._opened = True


class GuardedRawDump(RawDump):
    """The same, with the guard every real raw method has: what a process that
    inherited CFGBENCH_FORBID_RAW must refuse to open."""

    name = "rawdump-guarded"

    def open(self) -> None:
        ConfigAccessor.open(self)


def register() -> None:
    """Both doubles in the registry (for a worker process: see sitecustomize_for)."""
    for cls in (RawDump, GuardedRawDump):
        access.register(cls)


def sitecustomize_for(directory: Path) -> Path:
    """A sitecustomize.py that registers the doubles in every Python started
    with `directory` on PYTHONPATH: a worker process (python -m cfgbench.engine)
    knows them as the test process does."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sitecustomize.py").write_text(
        f"import sys\nsys.path.insert(0, {str(Path(__file__).parent)!r})\nimport rawdouble\nrawdouble.register()\n")
    return directory


def lspci_rows(space: bytes) -> str:
    return "\n".join(f"{o:02x}: " + " ".join(f"{b:02x}" for b in space[o:o + 16]) for o in range(0, len(space), 16))


def dump_of_this_machine(path: Path, changed: tuple[Bdf, int] | None = None) -> Path:
    """`lspci -D -xxxx` of this machine as sysfs shows it to this user; with
    `changed`, the 16-bit register at (bdf, offset) has its lowest bit flipped."""
    parts = []
    for entry in sorted(SYSFS_DEVICES.iterdir()):
        bdf = parse_bdf(entry.name)
        space = bytearray((entry / "config").read_bytes())
        if changed is not None and changed[0] == bdf:
            space[changed[1]] ^= 0x01
        parts.append(f"{bdf} Device: this machine\n{lspci_rows(bytes(space))}\n")
    path.write_text("\n".join(parts))
    return path
