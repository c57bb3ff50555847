"""The census parser (lab/census.py) on hand-made traces and on a trace QEMU 7.2 wrote.

tests/data/census-default-rescan.trace is excerpted from the trace of one lab guest (default
tree, one vCPU, the config-order module loaded): the start of firmware, its first ECAM
accesses, the last fw_cfg selections and the kernel's first accesses, Linux's type 1 probe,
the command's start marker, two marked rescans of 0000:00:03.0 (type 1 first, then ECAM
only) in full, the end marker and the shutdown. census-default-rescan.kernel-counts.json is
what the guest kernel itself counted (ftrace, lab/enumeration.py) during those two rescans.
The phase figures below were counted from the file with an independent gawk script.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cfgbench.lab.census import (COMMAND_BEGIN, COMMAND_END, KEYS, MARK_MAGIC, WINDOW_CLOSE, WINDOW_OPEN, Census,
                                 Tally, parse, parse_file, qemu_options)
from cfgbench.errors import LabError

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "census-default-rescan.trace"
KERNEL_COUNTS = DATA / "census-default-rescan.kernel-counts.json"


def idx(value: int, op: str = "write", addr: int = 0xCF8, size: int = 4) -> str:
    return (f"memory_region_ops_{op} cpu 0 mr 0x5596f3ab8d10 addr {addr:#x} value {value:#x} size {size} "
            "name 'pci-conf-idx'")


def data(op: str, value: int = 0x8086, port: int = 0xCFC, size: int = 4) -> str:
    return f"memory_region_ops_{op} cpu 0 mr 0x5596f3ab8e20 addr {port:#x} value {value:#x} size {size} name 'pci-conf-data'"


def ecam(op: str, bus: int, dev: int, fn: int, reg: int = 0, value: int = 0xFFFFFFFF) -> str:
    address = 0xB000_0000 | bus << 20 | dev << 15 | fn << 12 | reg
    return (f"memory_region_ops_{op} cpu 0 mr 0x5596f3ab9080 addr {address:#x} value {value:#x} size 4 "
            "name 'pcie-mmcfg-mmio'")


def type1(bus: int, dev: int, fn: int, reg: int = 0) -> int:
    return 0x8000_0000 | bus << 16 | dev << 11 | fn << 8 | reg


def mark(kind: int, index: int = 0) -> str:
    return idx(MARK_MAGIC | kind | index)


FW_CFG = "fw_cfg_select 0x5596f3b7d470 key 0x0010 'kernel_entry', ret: 1"
NOISE = "memory_region_ops_read cpu 0 mr 0x5596f3a38070 addr 0x61 value 0x30 size 1 name 'pcspk'"


def test_each_access_is_counted_by_mechanism_function_and_whether_a_device_answered() -> None:
    census = parse([
        idx(type1(0, 0, 0)), "pci_cfg_read mch 00:00.0 @0x0 -> 0x29c08086", data("read"),  # answered
        idx(type1(0, 5, 0)), data("read", 0xFFFFFFFF),  # an absent function: no pci_cfg event
        NOISE,
        idx(type1(1, 0, 0, 0x04)), data("write", 0x7, 0xCFE, 2), "pci_cfg_write e1000e 01:00.0 @0x6 <- 0x7",
        "pci_cfg_read e1000e 01:00.0 @0x100 -> 0x1", ecam("read", 1, 0, 0, 0x100, 1),
        ecam("read", 2, 31, 7),  # absent
        ecam("write", 1, 0, 0, 4, 7), "pci_cfg_write e1000e 01:00.0 @0x4 <- 0x7",
    ])
    boot = census.phases["boot"]
    assert dict(boot.accesses) == {"type1-read": 2, "type1-write": 1, "ecam-read": 2, "ecam-write": 1}
    assert dict(boot.answered) == {"type1-read": 1, "type1-write": 1, "ecam-read": 1, "ecam-write": 1}
    assert boot.functions["00:05.0"] == {"type1-read": 1}
    assert boot.functions["01:00.0"] == {"type1-write": 1, "ecam-read": 1, "ecam-write": 1}
    assert boot.functions["02:1f.7"] == {"ecam-read": 1}
    assert boot.address_writes == 3 and boot.other == 0
    assert (boot.reads, boot.writes, boot.count("type1"), boot.count("ecam", "read")) == (4, 2, 3, 2)


def test_what_reaches_no_function_is_other() -> None:
    census = parse([
        idx(0, "read"),  # pci_check_type1's read of 0xCF8
        idx(0x1, addr=0xCFB, size=1),  # its byte write to 0xCFB: QEMU does not latch it
        idx(0x0000_1000), data("read"),  # enable bit clear: QEMU answers all-ones, no access
    ])
    boot = census.phases["boot"]
    assert boot.reads == boot.writes == 0
    assert boot.other == 3 and boot.address_writes == 1


def test_phases_are_split_at_firmwares_last_fw_cfg_selection_and_the_command_markers() -> None:
    census = parse([
        idx(type1(0, 0, 0)), data("read"), FW_CFG,
        idx(type1(0, 1, 0)), data("read"), data("read"),
        mark(COMMAND_BEGIN),
        idx(type1(0, 2, 0)), data("write"),
        FW_CFG,  # a selection after the command started does not move firmware's end
        mark(COMMAND_END),
        ecam("read", 0, 0, 0),
    ])
    assert census.firmware_end == "kernel_entry" and census.markers == 2
    assert [census.phases[p].reads + census.phases[p].writes for p in ("firmware", "boot", "command", "shutdown")] \
        == [1, 2, 1, 1]
    # A marker is latched by QEMU (the enable bit is clear) but is neither an address write nor an access.
    assert census.phases["command"].address_writes == 1


def test_without_markers_everything_after_firmware_is_boot() -> None:
    census = parse([idx(type1(0, 0, 0)), data("read"), FW_CFG, ecam("read", 0, 0, 0)])
    assert census.phases["boot"].reads == 1 and census.phases["command"].reads == 0


def test_windows_count_only_between_their_markers_and_take_their_labels() -> None:
    census = parse([
        mark(COMMAND_BEGIN), ecam("read", 0, 0, 0),
        mark(WINDOW_OPEN, 0), ecam("read", 1, 0, 0), ecam("read", 1, 0, 1), mark(WINDOW_CLOSE, 0),
        mark(WINDOW_OPEN, 1), ecam("write", 1, 0, 0), mark(WINDOW_CLOSE, 1),
        mark(COMMAND_END),
    ], ["rescan a", "rescan b"])
    assert [(w.index, w.label, w.tally.reads, w.tally.writes) for w in census.windows] \
        == [(0, "rescan a", 2, 0), (1, "rescan b", 0, 1)]
    assert census.phases["command"].reads == 3


def test_the_log_backends_pid_and_time_prefix_is_accepted() -> None:
    census = parse([f"1234@1700000000.123456:{ecam('read', 0, 0, 0)}"])
    assert census.phases["boot"].reads == 1


def test_a_qemu_trace_counts_as_the_guest_kernel_counted_itself() -> None:
    labels = ["rescan 0000:00:03.0 type1-first", "rescan 0000:00:03.0 ecam-only"]
    census = parse_file(SAMPLE, None)
    kernel = json.loads(KERNEL_COUNTS.read_text())
    assert [w.index for w in census.windows] == [row["window"] for row in kernel] == [0, 1]
    for window, row in zip(census.windows, kernel, strict=True):
        assert window.tally.disagreement(row["kernel_counts"]) == {}, row["order"]
    type1_first, ecam_only = census.windows
    assert dict(ecam_only.tally.accesses) == {"ecam-read": 170, "ecam-write": 51}
    assert type1_first.tally.count("type1", "read") == 124 and type1_first.tally.reads == ecam_only.tally.reads
    assert type1_first.label == "window 0"  # no labels file given
    assert [w.label for w in parse(SAMPLE.read_text().splitlines(), labels).windows] == labels


def test_a_qemu_trace_splits_into_phases_as_counted_independently() -> None:
    census = parse_file(SAMPLE)
    expected = {  # type 1 reads, writes, ECAM reads, writes, address writes, other (gawk)
        "firmware": (31, 7, 13, 12, 39, 1),
        "boot": (12, 0, 0, 0, 14, 3),
        "command": (124, 49, 216, 53, 173, 0),
        "shutdown": (0, 0, 0, 0, 0, 0),
    }
    for phase, figures in expected.items():
        tally = census.phases[phase]
        assert (*(tally.accesses[key] for key in KEYS), tally.address_writes, tally.other) == figures, phase
    assert census.firmware_end == "kernel_entry" and census.markers == 6
    # The rescan's accesses all reach the e1000e or its root port: every one was answered.
    assert census.phases["command"].answered == census.phases["command"].accesses


def test_json_round_trip_and_the_one_line_summary() -> None:
    census = parse_file(SAMPLE)
    again = Census.from_json(json.loads(json.dumps(census.to_json())))
    assert again.to_json() == census.to_json()
    line = census.summary()
    assert "\n" not in line
    assert line.startswith("census: firmware 44r/19w (type 1 31r/7w, ECAM 13r/12w); boot 12r/0w")
    assert line.endswith("; 2 window(s)")
    assert Tally.from_json(census.phases["command"].to_json()).to_json() == census.phases["command"].to_json()


def test_qemu_is_asked_for_the_events_and_a_file(tmp_path: Path) -> None:
    options = qemu_options(tmp_path / "t")
    assert options[-2:] == ["-trace", f"file={tmp_path / 't'}"]
    assert {"enable=pci_cfg_read", "enable=memory_region_ops_read", "enable=fw_cfg_select"} <= set(options)


def test_a_missing_trace_is_a_lab_error(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="no census trace"):
        parse_file(tmp_path / "absent.trace")


def test_the_census_entry_point_is_not_imported_before_it_runs() -> None:
    """The census guest runs `python -m cfgbench.lab.census`; imported first (through cfgbench.lab), it warns on every lab."""
    done = subprocess.run([sys.executable, "-m", "cfgbench.lab.census"], capture_output=True, text=True, check=False)
    assert done.stderr == "usage: python -m cfgbench.lab.census run -- COMMAND...\n"
