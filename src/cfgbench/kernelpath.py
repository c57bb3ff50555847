"""Which mechanism the running kernel uses for a config read, type 1 or ECAM, and how we know (docs/design.md)."""

from __future__ import annotations

import errno
import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from cfgbench.address import Bdf
from cfgbench.mcfg import iomem_ecam_entries
from cfgbench.pci_regs import LEGACY_CONFIG_SIZE
from cfgbench.platform import is_x86
from cfgbench.schema import KERNEL_PATH, KERNEL_PATH_SOURCE

KMSG = Path("/dev/kmsg")
IOMEM = Path("/proc/iomem")
CMDLINE = Path("/proc/cmdline")
KERNEL_LOG = "kernel log"

_BASE = re.compile(r"PCI: Using configuration type (?P<type>[12]) for base access")
_EXTENDED_TYPE1 = re.compile(r"PCI: Using configuration type 1 for extended access")
_ECAM_LOG = re.compile(
    r"PCI: (?:ECAM \[mem [^\]]*\] \(base [^)]*\) for domain (?P<d1>[0-9a-f]+) \[bus (?P<f1>[0-9a-f]{2})-(?P<l1>[0-9a-f]{2})\]"
    r"|MMCONFIG for domain (?P<d2>[0-9a-f]+) \[bus (?P<f2>[0-9a-f]{2})-(?P<l2>[0-9a-f]{2})\])"
)
ECAM_OFF_OPTIONS = ("nommconf", "conf1", "conf2")


@dataclass(frozen=True)
class BusRange:
    domain: int
    first: int
    last: int

    def covers(self, bdf: Bdf) -> bool:
        return bdf.domain == self.domain and self.first <= bdf.bus <= self.last


@dataclass(frozen=True)
class KernelFacts:
    """What the running kernel says about its config-space access."""

    x86: bool = True
    log: str = ""  # why the log cannot be trusted; "" when it can
    base_type: int | None = None
    extended_type1: bool = False  # AMD IO ECS
    ecam_logged: tuple[BusRange, ...] = ()
    ecam_in_use: tuple[BusRange, ...] | None = None  # from /proc/iomem; None when unreadable
    pci_options: tuple[str, ...] = field(default=())

    def ecam_covers(self, bdf: Bdf) -> tuple[bool, str] | None:
        """Whether an ECAM window in use covers bdf, and the source; None if unknown."""
        if self.ecam_in_use is not None:
            return any(r.covers(bdf) for r in self.ecam_in_use), "/proc/iomem"
        if not self.log and not self.ecam_off:
            return any(r.covers(bdf) for r in self.ecam_logged), KERNEL_LOG
        return None

    @property
    def ecam_off(self) -> bool:
        return any(option in ECAM_OFF_OPTIONS for option in self.pci_options)


def parse_facts(log: str | None, log_complete: bool, iomem: str | None, cmdline: str, x86: bool = True) -> KernelFacts:
    """From the kernel log and /proc/iomem (None: unreadable), whether the log reaches back to boot, /proc/cmdline."""
    if log is None:
        why = "the kernel log cannot be read here (dmesg_restrict? run as root)"
    elif not log_complete:
        why = "the kernel log no longer holds the boot messages"
    else:
        why = ""
    text = log or ""
    base = _BASE.search(text)
    ecam = tuple(BusRange(int(m["d1"] or m["d2"], 16), int(m["f1"] or m["f2"], 16), int(m["l1"] or m["l2"], 16))
                 for m in _ECAM_LOG.finditer(text))
    in_use = None if iomem is None else tuple(BusRange(e.segment, e.first_bus, e.last_bus) for e in iomem_ecam_entries(iomem))
    options = tuple(o for word in cmdline.split() if word.startswith("pci=") for o in word[4:].split(","))
    return KernelFacts(x86, why, int(base["type"]) if base else None, bool(_EXTENDED_TYPE1.search(text)), ecam, in_use, options)


def path_for(facts: KernelFacts, bdf: Bdf, offset: int) -> tuple[str, str]:
    """(path, source): 'type1' or 'ecam' ('type2' on ancient machines); 'kernel log', '/proc/iomem' or 'assumed (why)'."""
    if not facts.x86:
        return "ecam", "assumed (no type 1 outside x86)"
    if bdf.in_vmd_domain:
        return "ecam", "assumed (a VMD domain: the vmd driver reads the VMD device's own ECAM BAR)"
    if bdf.domain == 0 and offset < LEGACY_CONFIG_SIZE:
        return _base_path(facts, bdf)
    return _extended_path(facts, bdf)


def _base_path(facts: KernelFacts, bdf: Bdf) -> tuple[str, str]:
    if facts.base_type is not None:
        return f"type{facts.base_type}", KERNEL_LOG
    if not facts.log:
        # A whole boot log without the line: no type 1, so raw_pci_read falls back to ECAM.
        covered = facts.ecam_covers(bdf)
        if covered and covered[0]:
            return "ecam", f"{KERNEL_LOG} (no type 1 for base access) and {covered[1]}"
    return "type1", f"assumed (raw_pci_read: type 1 for domain 0 below 0x100; {facts.log or 'no line says which'})"


def _extended_path(facts: KernelFacts, bdf: Bdf) -> tuple[str, str]:
    covered = facts.ecam_covers(bdf)
    if covered and covered[0]:
        return "ecam", covered[1]
    if facts.extended_type1:
        return "type1", KERNEL_LOG
    reasons = [facts.log] if facts.log else []
    if covered is not None:
        reasons.append(f"{covered[1]} shows no ECAM window for {bdf.domain:04x}:{bdf.bus:02x}")
    if facts.ecam_off:
        reasons.append(f"pci={','.join(facts.pci_options)} on the command line")
    return "ecam", f"assumed (raw_pci_read: ECAM at 0x100 and above and outside domain 0; {'; '.join(reasons) or 'nothing says otherwise'})"


def parse_kmsg(records: list[bytes]) -> tuple[str, bool]:
    """Messages of /dev/kmsg records ("prio,seq,time,flags;message"), and whether the first is the first since boot."""
    messages, first_seq = [], None
    for record in records:
        header, _, rest = record.decode(errors="replace").partition(";")
        fields = header.split(",")
        if len(fields) < 2 or not fields[1].isdigit():
            continue
        if first_seq is None:
            first_seq = int(fields[1])
        messages.append(rest.split("\n", 1)[0])
    return "\n".join(messages), first_seq == 0


def _read_kmsg(path: Path = KMSG) -> tuple[str, bool] | None:
    """Every record /dev/kmsg still holds (each read returns one), or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    records = []
    try:
        while True:
            try:
                record = os.read(fd, 8192)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == errno.EPIPE:  # overwritten while reading: go on from the oldest left
                    continue
                return None
            if not record:
                break
            records.append(record)
    finally:
        os.close(fd)
    return parse_kmsg(records)


def _read_dmesg() -> tuple[str, bool] | None:
    dmesg = shutil.which("dmesg")
    if dmesg is None:
        return None
    try:
        done = subprocess.run([dmesg], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0 or not done.stdout:
        return None
    return done.stdout, "Linux version" in done.stdout.split("\n", 1)[0]


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


@functools.cache
def kernel_facts() -> KernelFacts:
    log = _read_kmsg() or _read_dmesg()
    return parse_facts(log[0] if log else None, bool(log and log[1]), _read(IOMEM), _read(CMDLINE) or "", is_x86())


def metadata_for(bdf: Bdf, offset: int) -> dict[str, str]:
    """Which path the kernel takes for (bdf, offset), and the source, as metadata."""
    path, source = path_for(kernel_facts(), bdf, offset)
    return {KERNEL_PATH: path, KERNEL_PATH_SOURCE: source}


def describe() -> str:
    """`cfgbench info`'s line: the paths of domain 0 below and from 0x100."""
    facts = kernel_facts()
    parts = []
    for what, offset in (("below 0x100", 0), ("from 0x100", LEGACY_CONFIG_SIZE)):
        path, source = path_for(facts, Bdf(0, 0, 0, 0), offset)
        parts.append(f"{what} {path} ({source})")
    return "; ".join(parts)
