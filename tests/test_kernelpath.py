"""Which path the kernel takes per (device, offset), from what the kernel says
(kernelpath.py): its boot log, /proc/iomem, its command line."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from cfgbench import kernelpath
from cfgbench.address import Bdf
from cfgbench.kernelpath import kernel_facts, metadata_for, parse_facts, parse_kmsg, path_for

HOST_BRIDGE = Bdf(0, 0, 0, 0)
BUS1 = Bdf(0, 1, 0, 0)

# The development machine (Firecracker, Linux 6.18): the newer wording.
FIRECRACKER_LOG = """\
Linux version 6.18.44-fc-v657
PCI: ECAM [mem 0xeec00000-0xeecfffff] (base 0xeec00000) for domain 0000 [bus 00-00]
PCI: ECAM [mem 0xeec00000-0xeecfffff] reserved as E820 entry
PCI: Using configuration type 1 for base access
PCI: Using host bridge windows from ACPI; if necessary, use "pci=nocrs" and report a bug
"""
FIRECRACKER_IOMEM = "  eec00000-eecfffff : PCI ECAM 0000 [bus 00-00]\n"
# The lab guest (QEMU q35, Debian's Linux 6.1): the older wording.
Q35_LOG = """\
Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org)
PCI: MMCONFIG for domain 0000 [bus 00-ff] at [mem 0xb0000000-0xbfffffff] (base 0xb0000000)
PCI: MMCONFIG at [mem 0xb0000000-0xbfffffff] reserved in E820
PCI: Using configuration type 1 for base access
"""
Q35_IOMEM = "b0000000-bfffffff : PCI MMCONFIG 0000 [bus 00-ff]\n"
# A VM without type 1: only ECAM, for everything.
ECAM_ONLY_LOG = """\
Linux version 6.8.0
PCI: ECAM [mem 0xe0000000-0xefffffff] (base 0xe0000000) for domain 0000 [bus 00-ff]
PCI: Using host bridge windows from ACPI; if necessary, use "pci=nocrs" and report a bug
"""
ECAM_ONLY_IOMEM = "e0000000-efffffff : PCI ECAM 0000 [bus 00-ff]\n"
# pci=nommconf: type 1 only, no ECAM window in use.
NOMMCONF_LOG = "Linux version 6.1.0\nPCI: Using configuration type 1 for base access\n"
# An AMD machine with IO ECS and no ECAM: type 1 reaches all 4096 bytes.
IO_ECS_LOG = NOMMCONF_LOG + "PCI: Using configuration type 1 for extended access\n"
# A window found and then dropped: /proc/iomem has nothing.
DROPPED_LOG = Q35_LOG + "PCI: not using ECAM ([mem 0xb0000000-0xbfffffff] not reserved)\n"


@pytest.mark.parametrize(("log", "iomem", "cmdline", "bdf", "offset", "expected"), [
    (FIRECRACKER_LOG, FIRECRACKER_IOMEM, "", HOST_BRIDGE, 0x0, ("type1", "kernel log")),
    (FIRECRACKER_LOG, FIRECRACKER_IOMEM, "", HOST_BRIDGE, 0xFC, ("type1", "kernel log")),
    (FIRECRACKER_LOG, FIRECRACKER_IOMEM, "", HOST_BRIDGE, 0x100, ("ecam", "/proc/iomem")),
    (Q35_LOG, Q35_IOMEM, "iomem=relaxed", HOST_BRIDGE, 0x0, ("type1", "kernel log")),
    (Q35_LOG, Q35_IOMEM, "iomem=relaxed", BUS1, 0x100, ("ecam", "/proc/iomem")),
    (ECAM_ONLY_LOG, ECAM_ONLY_IOMEM, "", HOST_BRIDGE, 0x0, ("ecam", "kernel log (no type 1 for base access) and /proc/iomem")),
    (ECAM_ONLY_LOG, ECAM_ONLY_IOMEM, "", BUS1, 0x100, ("ecam", "/proc/iomem")),
    (IO_ECS_LOG, "", "", BUS1, 0x100, ("type1", "kernel log")),
    (Q35_LOG, Q35_IOMEM, "", Bdf(0x10000, 0xE0, 0, 0), 0x0, ("ecam", "assumed")),
    (ECAM_ONLY_LOG, None, "", HOST_BRIDGE, 0x0, ("ecam", "kernel log (no type 1 for base access) and kernel log")),
])
def test_the_path_follows_what_the_kernel_says(log: str, iomem: str | None, cmdline: str, bdf: Bdf, offset: int,
                                               expected: tuple[str, str]) -> None:
    path, source = path_for(parse_facts(log, True, iomem, cmdline), bdf, offset)
    assert path == expected[0]
    assert source.startswith(expected[1]), source


def test_with_ecam_turned_off_extended_space_is_only_assumed() -> None:
    facts = parse_facts(NOMMCONF_LOG, True, "", "console=ttyS0 pci=nommconf")
    assert facts.pci_options == ("nommconf",) and facts.ecam_off
    assert path_for(facts, HOST_BRIDGE, 0) == ("type1", "kernel log")
    path, source = path_for(facts, HOST_BRIDGE, 0x100)
    assert path == "ecam" and source.startswith("assumed") and "pci=nommconf" in source and "no ECAM window" in source


def test_a_dropped_window_is_not_in_use() -> None:
    path, source = path_for(parse_facts(DROPPED_LOG, True, "", ""), HOST_BRIDGE, 0x100)
    assert path == "ecam" and source.startswith("assumed") and "/proc/iomem shows no ECAM window" in source


@pytest.mark.parametrize(("log", "complete", "reason"), [
    (None, False, "cannot be read"),
    (FIRECRACKER_LOG.replace("PCI: Using configuration type 1 for base access\n", ""), False, "no longer holds the boot"),
])
def test_without_a_whole_log_the_base_path_is_assumed(log: str | None, complete: bool, reason: str) -> None:
    path, source = path_for(parse_facts(log, complete, FIRECRACKER_IOMEM, ""), HOST_BRIDGE, 0)
    assert path == "type1" and source.startswith("assumed (raw_pci_read") and reason in source
    assert path_for(parse_facts(log, complete, FIRECRACKER_IOMEM, ""), HOST_BRIDGE, 0x100) == ("ecam", "/proc/iomem")


def test_a_whole_log_without_type1_and_without_ecam_says_it_does_not_know() -> None:
    path, source = path_for(parse_facts("Linux version 6.1\n", True, "", ""), HOST_BRIDGE, 0)
    assert (path, source.startswith("assumed")) == ("type1", True)


def test_outside_x86_there_is_no_type1() -> None:
    assert path_for(parse_facts(None, False, None, "", x86=False), HOST_BRIDGE, 0) == ("ecam", "assumed (no type 1 outside x86)")


def test_kmsg_records_and_whether_they_reach_back_to_boot() -> None:
    records = [b"5,0,0,-;Linux version 6.1.0\n", b"6,1,1000,-;PCI: Using configuration type 1 for base access\n SUBSYSTEM=pci\n"]
    text, complete = parse_kmsg(records)
    assert complete and text.splitlines() == ["Linux version 6.1.0", "PCI: Using configuration type 1 for base access"]
    assert parse_kmsg(records[1:])[1] is False  # the ring buffer wrapped: the boot is gone


def this_machines_log() -> tuple[list[str], bool] | None:
    """/dev/kmsg read here by hand (one record per read, as Documentation/ABI
    says): the messages, and whether the first is the boot's (sequence 0).
    None where it cannot be read."""
    try:
        fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    records = []
    try:
        while True:
            try:
                records.append(os.read(fd, 8192).decode(errors="replace"))
            except BlockingIOError:
                break
            except BrokenPipeError:
                continue  # a record overwritten while reading
    finally:
        os.close(fd)
    return [r.partition(";")[2].split("\n")[0] for r in records], records[0].split(",")[1] == "0"


def this_machines_ecam_covers_bus_0() -> bool:
    """/proc/iomem names the windows in use: "PCI ECAM 0000 [bus 00-ff]" (or MMCONFIG)."""
    windows = re.findall(r"PCI (?:ECAM|MMCONFIG) 0000 \[bus ([0-9a-f]{2})-[0-9a-f]{2}\]", Path("/proc/iomem").read_text())
    return any(int(first, 16) == 0 for first in windows)


def test_metadata_for_this_machine_is_what_its_log_and_iomem_say() -> None:
    """Through the real /dev/kmsg, /proc/iomem and /proc/cmdline (read only,
    once), against the same files read here by hand."""
    log = this_machines_log()
    if log is None:
        pytest.skip("/dev/kmsg cannot be read here: nothing to hold the answer against")
    messages, from_boot = log
    kernel_facts.cache_clear()
    base, extended = metadata_for(HOST_BRIDGE, 0x0), metadata_for(HOST_BRIDGE, 0x100)
    assert set(base) == set(extended) == {"cfgbench_kernel_path", "cfgbench_kernel_path_source"}
    said = (base["cfgbench_kernel_path"], base["cfgbench_kernel_path_source"])
    ecam = this_machines_ecam_covers_bus_0()
    if "PCI: Using configuration type 1 for base access" in messages:
        assert said == ("type1", "kernel log")
    elif from_boot and not any(m.endswith("for base access") for m in messages) and ecam:
        assert said == ("ecam", "kernel log (no type 1 for base access) and /proc/iomem")
    else:
        assert said[0] == "type1" and said[1].startswith("assumed (raw_pci_read"), said
    said = (extended["cfgbench_kernel_path"], extended["cfgbench_kernel_path_source"])
    if ecam:
        assert said == ("ecam", "/proc/iomem")
    else:
        assert said[0] == "ecam" and said[1].startswith("assumed (raw_pci_read"), said
    facts = kernel_facts()
    assert kernel_facts() is facts  # parsed once


def test_an_empty_record_file_is_an_incomplete_log_and_both_wordings_parse(tmp_path: Path) -> None:
    """No record read is no boot log; the older (MMCONFIG) and newer (ECAM) lines both count."""
    records = tmp_path / "kmsg"
    records.write_bytes(b"")
    assert kernelpath._read_kmsg(records) == ("", False)
    facts = parse_facts(Q35_LOG + FIRECRACKER_LOG, True, None, "")
    assert facts.base_type == 1 and len(facts.ecam_logged) == 2
