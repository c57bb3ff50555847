"""The census: every config access of a lab boot, counted from QEMU's trace, and the markers the guest writes for it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cfgbench.errors import LabError

TRACE_EVENTS = ("pci_cfg_read", "pci_cfg_write", "memory_region_ops_read", "memory_region_ops_write",
                "fw_cfg_select")
ADDRESS_REGION, DATA_REGION, ECAM_REGION = "pci-conf-idx", "pci-conf-data", "pcie-mmcfg-mmio"
ADDRESS_PORT = 0xCF8
ENABLE = 1 << 31

# Markers: bit 31 clear; bits 16-30 the magic, 14-15 the kind, 0-13 the window index.
MARK_MAGIC = 0x7CF8_0000
MARK_MASK = 0xFFFF_0000
COMMAND_BEGIN, COMMAND_END, WINDOW_OPEN, WINDOW_CLOSE = (0 << 14, 1 << 14, 2 << 14, 3 << 14)
MAX_WINDOWS = 1 << 14
PHASES = ("firmware", "boot", "command", "shutdown")
# The JSON form's version. 1 (2026-12-04): phases, windows, firmware_end, markers; per stretch
# reads, writes, accesses and answered by KEYS, address_writes, other, functions.
# 2 (issue 23): each window's accesses in order, [key, function, register, answered]; 1 still reads.
CENSUS_FORMAT = 2
KEYS = ("type1-read", "type1-write", "ecam-read", "ecam-write")
WINDOW_LABELS = "census-windows.json"  # written by the guest to the results share: index -> label

_PREFIX = r"^(?:\d+@[\d.]+:)?"  # the log backend's optional "pid@time:" prefix
_REGION = re.compile(_PREFIX + r"memory_region_ops_(?P<op>read|write) cpu -?\d+ mr 0x[0-9a-f]+ addr 0x(?P<addr>[0-9a-f]+) "
                     r"value 0x(?P<value>[0-9a-f]+) size (?P<size>\d+) name '(?P<name>[^']*)'")
_CFG = re.compile(_PREFIX + r"pci_cfg_(?P<op>read|write) (?P<device>\S+) (?P<bdf>[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) @0x")
_FW_CFG = re.compile(_PREFIX + r"fw_cfg_select \S+ key 0x[0-9a-f]+ '(?P<key>[^']*)'")


def qemu_options(trace_file: Path) -> list[str]:
    """What QEMU needs to write the census's trace (the log backend, one event per line)."""
    options: list[str] = []
    for event in TRACE_EVENTS:
        options += ["-trace", f"enable={event}"]
    return options + ["-trace", f"file={trace_file}"]


@dataclass
class Tally:
    """The config accesses of one stretch of the trace. Keys of the counters: KEYS."""

    accesses: Counter[str] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)  # of those, the ones a device answered
    functions: dict[str, Counter[str]] = field(default_factory=dict)  # "bb:dd.f" -> accesses
    address_writes: int = 0  # type 1 address dwords written to 0xCF8 (markers not included)
    other: int = 0  # address-port reads, partial address writes, data accesses with the enable bit clear

    def add(self, key: str, function: str, answered: bool) -> None:
        self.accesses[key] += 1
        self.functions.setdefault(function, Counter())[key] += 1
        if answered:
            self.answered[key] += 1

    def count(self, mechanism: str | None = None, op: str | None = None) -> int:
        return sum(n for key, n in self.accesses.items()
                   if mechanism in (None, key.split("-")[0]) and op in (None, key.split("-")[1]))

    @property
    def reads(self) -> int:
        return self.count(op="read")

    @property
    def writes(self) -> int:
        return self.count(op="write")

    def to_json(self) -> dict[str, object]:
        return {"reads": self.reads, "writes": self.writes,
                "accesses": {key: self.accesses[key] for key in KEYS},
                "answered": {key: self.answered[key] for key in KEYS},
                "address_writes": self.address_writes, "other": self.other,
                "functions": {bdf: {key: n for key, n in sorted(counts.items())}
                              for bdf, counts in sorted(self.functions.items())}}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Tally:
        def counter(value: object) -> Counter[str]:
            return Counter({str(k): int(v) for k, v in dict(value).items() if v})  # type: ignore[call-overload]

        functions = data.get("functions", {})
        assert isinstance(functions, dict)
        return cls(counter(data["accesses"]), counter(data["answered"]),
                   {bdf: counter(counts) for bdf, counts in functions.items()},
                   int(data["address_writes"]), int(data["other"]))  # type: ignore[call-overload]

    def disagreement(self, kernel: dict[str, int]) -> dict[str, tuple[int, int]]:
        """Where the guest kernel's own count of its accessor calls (KEYS -> calls) differs: key -> (emulator, kernel)."""
        return {key: (self.accesses[key], kernel.get(key, 0)) for key in KEYS
                if self.accesses[key] != kernel.get(key, 0)}

    def describe(self) -> str:
        return (f"{self.reads:,} reads ({self.count('type1', 'read'):,} type 1, {self.count('ecam', 'read'):,} ECAM), "
                f"{self.writes:,} writes ({self.count('type1', 'write'):,} type 1, {self.count('ecam', 'write'):,} ECAM)")


@dataclass
class Window:
    index: int
    label: str
    tally: Tally
    sequence: list[tuple[str, str, int, bool]] = field(default_factory=list)  # (key, function, register, answered)


@dataclass
class Census:
    """Counts per phase (PHASES) and per marked window, from one boot's trace."""

    phases: dict[str, Tally]
    windows: list[Window] = field(default_factory=list)
    firmware_end: str = ""  # the fw_cfg key firmware selected last ("" when the trace has none)
    markers: int = 0  # markers seen (2 per command, 2 per window)

    def total(self) -> Tally:
        total = Tally()
        for tally in self.phases.values():
            total.accesses += tally.accesses
            total.answered += tally.answered
            total.address_writes += tally.address_writes
            total.other += tally.other
            for bdf, counts in tally.functions.items():
                total.functions.setdefault(bdf, Counter()).update(counts)
        return total

    def to_json(self) -> dict[str, object]:
        return {"format": CENSUS_FORMAT, "firmware_end": self.firmware_end, "markers": self.markers,
                "phases": {name: tally.to_json() for name, tally in self.phases.items()},
                "windows": [{"index": w.index, "label": w.label, **w.tally.to_json(), "sequence": w.sequence}
                            for w in self.windows]}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Census:
        if data.get("format") not in (1, CENSUS_FORMAT):
            raise LabError(f"census format {data.get('format')!r} is not {CENSUS_FORMAT}", "re-record the census")
        phases = data["phases"]
        windows = data.get("windows", [])
        assert isinstance(phases, dict) and isinstance(windows, list)
        return cls({name: Tally.from_json(tally) for name, tally in phases.items()},
                   [Window(int(w["index"]), str(w["label"]), Tally.from_json(w), [tuple(a) for a in w.get("sequence", [])])
                    for w in windows],
                   str(data.get("firmware_end", "")), int(data.get("markers", 0)))  # type: ignore[call-overload]

    def summary(self) -> str:
        """One line: each phase's reads and writes by mechanism."""
        parts = [f"{name} {self._short(tally)}" for name, tally in self.phases.items()]
        windows = f"; {len(self.windows)} window(s)" if self.windows else ""
        return f"census: {'; '.join(parts)}{windows}"

    @staticmethod
    def _short(tally: Tally) -> str:
        return (f"{tally.reads:,}r/{tally.writes:,}w "
                f"(type 1 {tally.count('type1', 'read'):,}r/{tally.count('type1', 'write'):,}w, "
                f"ECAM {tally.count('ecam', 'read'):,}r/{tally.count('ecam', 'write'):,}w)")


def _function(bus: int, devfn: int) -> str:
    return f"{bus:02x}:{devfn >> 3:02x}.{devfn & 7}"


@dataclass
class _Record:
    """One access to a config region, in trace order."""

    kind: str  # "access" (reaches a function), "address" (a type 1 address written), "other"
    key: str = ""  # KEYS, for an access
    function: str = ""  # "bb:dd.f", for an access
    answered: bool = False  # a device answered it (QEMU's pci_cfg_* event)
    register: int = 0  # the offset in the function's config space, for an access


class _Parser:
    """One pass over the trace: the accesses as records, with the positions of markers and of firmware's end."""

    def __init__(self) -> None:
        self.records: list[_Record] = []
        self.latch = 0
        self.read_answered = False  # a pci_cfg_read came: the next config-region read is answered
        self.last_write: _Record | None = None  # the config write a pci_cfg_write may answer
        self.marks: list[tuple[int, int]] = []  # (position in records, marker value)
        self.firmware_end_at = 0
        self.firmware_end = ""

    def feed(self, line: str) -> None:
        if (match := _REGION.match(line)) is not None:
            self._region(match)
        elif (match := _CFG.match(line)) is not None:
            if match["op"] == "read":
                self.read_answered = True
            elif self.last_write is not None:
                self.last_write.answered = True
                self.last_write = None
        elif (match := _FW_CFG.match(line)) is not None and not self.marks:
            self.firmware_end_at, self.firmware_end = len(self.records), match["key"]

    def _region(self, match: re.Match[str]) -> None:
        name, op = match["name"], match["op"]
        if name not in (ADDRESS_REGION, DATA_REGION, ECAM_REGION):
            return
        addr, value, size = int(match["addr"], 16), int(match["value"], 16), int(match["size"])
        if name == ADDRESS_REGION:
            if op == "write" and addr == ADDRESS_PORT and size == 4:
                if value & MARK_MASK == MARK_MAGIC:
                    self.marks.append((len(self.records), value))
                else:
                    self.records.append(_Record("address"))
                self.latch = value  # QEMU latches a marker too (pci_host_config_write)
            else:
                self.records.append(_Record("other"))
            return
        if name == DATA_REGION:
            if not self.latch & ENABLE:
                self.records.append(_Record("other"))
                return
            record = _Record("access", f"type1-{op}", _function((self.latch >> 16) & 0xFF, (self.latch >> 8) & 0xFF),
                             register=(self.latch & 0xFC) | (addr & 3))
        else:
            record = _Record("access", f"ecam-{op}", _function((addr >> 20) & 0xFF, (addr >> 12) & 0xFF),
                             register=addr & 0xFFF)
        if op == "read":
            record.answered, self.read_answered = self.read_answered, False
        else:
            self.last_write = record
        self.records.append(record)


def parse(lines: Iterable[str], window_labels: Sequence[str] = ()) -> Census:
    """The census of one boot's trace (the lines QEMU wrote with qemu_options())."""
    parser = _Parser()
    for line in lines:
        parser.feed(line)
    begin = next((at for at, value in parser.marks if value & ~0x3FFF == MARK_MAGIC | COMMAND_BEGIN), None)
    end = next((at for at, value in parser.marks if value & ~0x3FFF == MARK_MAGIC | COMMAND_END), None)
    records = parser.records
    firmware_end = parser.firmware_end_at
    bounds = {"firmware": (0, firmware_end), "boot": (firmware_end, begin if begin is not None else len(records)),
              "command": (begin, end if end is not None else len(records)) if begin is not None else (0, 0),
              "shutdown": (end, len(records)) if end is not None else (0, 0)}
    phases = {name: _tally(records, *bounds[name]) for name in PHASES}
    windows = []
    opened: dict[int, int] = {}
    for at, value in parser.marks:
        kind, index = value & 0xC000, value & 0x3FFF
        if kind == WINDOW_OPEN:
            opened[index] = at
        elif kind == WINDOW_CLOSE and index in opened:
            label = window_labels[index] if index < len(window_labels) else f"window {index}"
            start = opened.pop(index)
            windows.append(Window(index, label, _tally(records, start, at),
                                  [(r.key, r.function, r.register, r.answered) for r in records[start:at] if r.kind == "access"]))
    return Census(phases, windows, parser.firmware_end, len(parser.marks))


def _tally(records: list[_Record], start: int, stop: int) -> Tally:
    tally = Tally()
    for record in records[start:stop]:
        if record.kind == "access":
            tally.add(record.key, record.function, record.answered)
        elif record.kind == "address":
            tally.address_writes += 1
        else:
            tally.other += 1
    return tally


def parse_file(trace_file: Path, labels_file: Path | None = None) -> Census:
    if not trace_file.is_file():
        raise LabError(f"QEMU wrote no census trace ({trace_file})", "check that this QEMU has the log trace backend")
    labels: list[str] = []
    if labels_file is not None and labels_file.is_file():
        labels = [str(label) for label in json.loads(labels_file.read_text())]
    with trace_file.open(errors="replace") as lines:
        return parse(lines, labels)


class Marker:
    """In the lab guest only; one Marker per boot, since window indices count per Marker and its labels share a file."""

    def __init__(self) -> None:
        from cfgbench.platform import in_lab_guest, online_cpu_count  # here: the parser needs neither

        if not in_lab_guest():
            raise LabError("census markers write the type 1 address port: they run only in the lab guest",
                           "run this inside `cfgbench lab` or run_in_guest")
        if (cpus := online_cpu_count()) != 1:
            raise LabError(f"census markers need exactly one online CPU ({cpus} are): with more, a marker could "
                           "fall between a kernel config access's address write and its data access",
                           "boot the census guest with one vCPU (GuestConfig(smp=1))")
        import portio

        if portio.ioperm(ADDRESS_PORT, 4, 1):
            raise LabError("ioperm for 0xCF8 refused in the guest", "run the census as root in the lab guest")
        self._outl = portio.outl
        self.labels: list[str] = []

    def mark(self, kind: int, index: int = 0) -> None:
        self._outl(MARK_MAGIC | kind | index, ADDRESS_PORT)

    def open_window(self, label: str) -> int:
        """Its index, for close_window."""
        index = len(self.labels)
        if index >= MAX_WINDOWS:
            raise LabError(f"more than {MAX_WINDOWS} census windows in one boot", "mark fewer windows")
        self.labels.append(label)
        self.mark(WINDOW_OPEN, index)
        return index

    def close_window(self, index: int) -> None:
        self.mark(WINDOW_CLOSE, index)

    def save_labels(self, outdir: Path) -> None:
        (outdir / WINDOW_LABELS).write_text(json.dumps(self.labels))


def run_marked(argv: Sequence[str]) -> int:
    """The command between its start and end markers; its exit status."""
    marker = Marker()
    marker.mark(COMMAND_BEGIN)
    try:
        return subprocess.call(list(argv))
    finally:
        marker.mark(COMMAND_END)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "run" or args[1] != "--":
        print("usage: python -m cfgbench.lab.census run -- COMMAND...", file=sys.stderr)
        return 2
    try:
        return run_marked(args[2:])
    except LabError as exc:
        print(f"cfgbench: error: {exc.one_line()}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
