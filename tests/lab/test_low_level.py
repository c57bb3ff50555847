"""The low-level items of issue 10, checked where raw access is allowed: in the
default lab guest, shared_boots.LOW_LEVEL (2 vCPUs, q35, e1000e with 4096
bytes of config space at 01:00.0).

- `cfgbench run -m pio` warns once about the unlocked 0xCF8 (two CPUs online);
- `cfgbench read -m pio` at 0x100 names type 1's reach, as `run` does;
- setpci register syntax reads the same register through pio, mmio, the
  kernel and setpci's own intel-conf1;
- the kernel's path comes from its log and /proc/iomem;
- a scan's bus range maps once and reads what single pages read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .shared_boots import REGISTERS, DefaultBoot

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def out(default_boot: DefaultBoot) -> Path:
    return default_boot.part("low-level")


def test_pio_run_warns_once_about_the_unlocked_address_port(out: Path) -> None:
    stderr = (out / "run-pio.err").read_text()
    assert (out / "run-pio.rc").read_text().strip() == "0", stderr
    warnings = [line for line in stderr.splitlines() if "pci_config_lock" in line]
    assert len(warnings) == 1 and "2 CPUs online" in warnings[0] and "--method=mmio" in warnings[0], stderr


def test_pio_read_past_0xff_names_type1s_reach(out: Path) -> None:
    stderr = (out / "reach.err").read_text()
    assert (out / "reach.rc").read_text().strip() == "2"
    assert len(stderr.splitlines()) == 1 and "type 1 reaches only the first 256 bytes" in stderr, stderr
    assert "outside the 256-byte" not in stderr


def test_setpci_syntax_reads_the_same_register_everywhere(out: Path) -> None:
    setpci = (out / "regs-setpci.txt").read_text()
    assert len(setpci.split()) == len(REGISTERS)
    for method in ("pio", "mmio", "kernel"):
        assert (out / f"regs-{method}.txt").read_text() == setpci, method
        echoed = (out / f"regs-{method}.err").read_text().splitlines()
        assert echoed[0] == f"cfgbench: 0000:01:00.0 register 0x004 COMMAND (2 bytes) via {method}"
        assert len(echoed) == len(REGISTERS)


def test_the_kernel_path_comes_from_what_the_guest_kernel_says(out: Path) -> None:
    paths = json.loads((out / "paths.json").read_text())
    assert paths["base"] == {"cfgbench_kernel_path": "type1", "cfgbench_kernel_path_source": "kernel log"}
    assert paths["extended"] == {"cfgbench_kernel_path": "ecam", "cfgbench_kernel_path_source": "/proc/iomem"}


def test_a_scans_bus_range_maps_once_and_reads_what_pages_read(out: Path) -> None:
    busmap = json.loads((out / "busmap.json").read_text())
    assert busmap["ranged"] == busmap["pages"]
    assert busmap["lengths"] == [2 << 20]  # buses 0-1, one mapping
    assert busmap["pages"]["0000:01:00.0"] & 0xFFFF == 0x8086  # the e1000e is really there
