"""The default guest (shared_boots.GUEST) checks the lab end to end: what comes back, what runs
inside, and that every method reads what pciutils reads."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from cfgbench.lab.kernel import find_kernel

from .shared_boots import EXIT_STATUS, PARTS, DefaultBoot

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def out(default_boot: DefaultBoot) -> Path:
    assert (default_boot.part("guest") / "rc").read_text() == "0\n", (default_boot.part("guest") / "log").read_text()
    return default_boot.part("guest")


def test_exit_status_and_output_come_back(default_boot: DefaultBoot) -> None:
    assert default_boot.result.returncode == EXIT_STATUS
    assert "to stdout\n" in default_boot.result.output
    assert "to stderr\n" in default_boot.result.output
    assert "@@cfgbench-lab" not in default_boot.result.output


def test_every_part_wrote_to_the_share_and_finished(default_boot: DefaultBoot) -> None:
    """The share is writable from the guest, and every part ran to its end (the
    shared boot's parts are the fixtures of test_guest, test_low_level, test_hostile
    and test_main_job's run in the lab)."""
    for part in PARTS:
        assert (default_boot.part(part) / "rc").read_text() == "0\n", (part, default_boot.result.output)


def test_host_python_and_cfgbench_run_inside_without_the_raw_guard(out: Path) -> None:
    module, executable, guard = (out / "python.txt").read_text().splitlines()
    import cfgbench

    assert module == cfgbench.__file__
    assert Path(executable).parent == Path(sys.executable).parent  # python3 is found first on PATH
    assert guard == "unset"


def _dumps(text: str) -> dict[str, str]:
    """lspci -x output per function: {'00:00.0': 'hex lines'}."""
    dumps: dict[str, str] = {}
    for block in text.strip().split("\n\n"):
        header, *lines = block.splitlines()
        dumps[header.split()[0]] = "\n".join(lines)
    return dumps


def test_type1_and_sysfs_read_the_same_config_space(out: Path) -> None:
    conf1 = _dumps((out / "conf1.txt").read_text())
    sysfs = _dumps((out / "sysfs.txt").read_text())
    assert {"00:00.0", "01:00.0"} <= set(conf1)
    assert conf1 == sysfs


def _dword(dump: str, offset: int) -> int:
    """The little-endian dword at offset of an lspci -x hex dump."""
    rows = {int(line.split(":")[0], 16): bytes.fromhex(line.split(":", 1)[1]) for line in dump.splitlines()}
    row = rows[offset & ~0xF]
    return int.from_bytes(row[offset & 0xF : (offset & 0xF) + 4], "little")


def test_pio_mmio_and_kernel_read_what_pciutils_reads(out: Path) -> None:
    """Every function, offsets 0x00, 0x08, 0x2c (and 0x100 with extended space):
    the three methods agree with each other and with lspci's two readers."""
    reads = json.loads((out / "methods.json").read_text())
    conf1 = _dumps((out / "conf1.txt").read_text())
    sysfs = _dumps((out / "sysfs-ext.txt").read_text())
    assert {"0000:00:00.0+0x0", "0000:01:00.0+0x100"} <= set(reads)
    for key, by_method in reads.items():
        device, offset_text = key.split("+")
        offset, short = int(offset_text, 16), device.removeprefix("0000:")
        expected = {_dword(sysfs[short], offset)} | ({_dword(conf1[short], offset)} if offset < 0x100 else set())
        assert len(expected) == 1, key
        assert set(by_method.values()) == expected, (key, by_method)
        assert set(by_method) == ({"pio", "mmio", "kernel"} if offset < 0x100 else {"mmio", "kernel"})


def test_pcie_target_behind_root_port_has_extended_config_space(out: Path) -> None:
    assert (out / "config-size.txt").read_text().strip() == "4096"
    extended = _dumps((out / "sysfs-ext.txt").read_text())["01:00.0"]
    assert re.search(r"^ff0:", extended, re.MULTILINE)


def test_lab_metadata_and_timings(default_boot: DefaultBoot, out: Path) -> None:
    md = default_boot.result.lab_metadata
    assert md["accel"] == "tcg"
    assert md["machine"] == "q35"
    assert re.fullmatch(r"\d+\.\d+\S*", md["qemu"])
    assert md["kernel_release"] == find_kernel().release
    assert "iomem=relaxed" in md["cmdline"].split()
    assert 0 < default_boot.result.boot_seconds < default_boot.result.wall_seconds
    assert any(line.startswith("guest up in") for line in default_boot.progress)
    timings = {name: float(end) - float(start)
               for name, start, end in (line.split() for line in (out / "timings.txt").read_text().splitlines())}
    print(f"\nlab timings (tcg): boot {default_boot.result.boot_seconds:.2f} s, wall {default_boot.result.wall_seconds:.2f} s, "
          + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in timings.items()))
