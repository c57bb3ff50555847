"""The kernel method for real on this machine: ordinary sysfs reads only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cfgbench.access.sysfs import SysfsAccessor
from cfgbench.address import Bdf
from cfgbench.pci import list_functions

from cli_helpers import QUICK, cfgbench

HOST_BRIDGE = Bdf(0, 0, 0, 0)
pytestmark = pytest.mark.skipif(not list_functions(), reason="no PCI functions in sysfs on this machine")


def test_reads_match_the_sysfs_file_byte_for_byte() -> None:
    with SysfsAccessor() as kernel:
        for function in list_functions():
            raw = Path(f"/sys/bus/pci/devices/{function.bdf}/config").read_bytes()
            limit = len(raw) if os.geteuid() == 0 else 64
            for offset in (0x00, 0x08, 0x2C, 0x3C):
                if offset + 4 <= limit:
                    assert kernel.read(function.bdf, offset, 4) == int.from_bytes(raw[offset : offset + 4], "little")
            assert kernel.read(function.bdf, 0x0A, 2) == function.class_code >> 8


def test_matches_lspci_when_installed() -> None:
    lspci = subprocess.run(["lspci", "-A", "linux-sysfs", "-D", "-xxx"], capture_output=True, text=True) if _have("lspci") else None
    if lspci is None or lspci.returncode != 0:
        pytest.skip("lspci is not installed")
    from cfgbench.access.fake import parse_lspci_dump

    spaces = parse_lspci_dump(lspci.stdout)
    with SysfsAccessor() as kernel:
        for bdf, space in spaces.items():
            assert kernel.read(bdf, 0, 4) == int.from_bytes(space[:4], "little")


def _have(tool: str) -> bool:
    return any(os.access(os.path.join(d, tool), os.X_OK) for d in os.environ.get("PATH", "").split(os.pathsep))


def test_unknown_device_is_a_clear_error() -> None:
    with SysfsAccessor() as kernel:
        with pytest.raises(Exception, match="no PCI function 0000:fe:1f.7"):
            kernel.read(Bdf(0, 0xFE, 0x1F, 7), 0, 4)


@pytest.mark.skipif(os.geteuid() != 0, reason="reading past 64 bytes of config space needs root")
def test_run_on_both_kernel_paths(tmp_path: Path) -> None:
    """Offset 0 takes type 1 in the kernel, 0x100 takes ECAM: both recorded."""
    out = tmp_path / "kernel.json"
    result = cfgbench("run", "--method=kernel", "--offset", "0", "--offset", "0x100", "-o", str(out), *QUICK)
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    paths = {b["metadata"]["name"]: b["metadata"].get("cfgbench_kernel_path") for b in data["benchmarks"]}
    assert paths == {"read 0000:00:00.0+0x000/4": "type1", "read 0000:00:00.0+0x100/4": "ecam",
                     "split 0000:00:00.0 floor": None}  # both paths bring the floor, which reaches no register
    assert result.stdout.startswith("this machine (") and " through the kernel: ECAM (+0x100) " in result.stdout
    stats = subprocess.run([sys.executable, "-m", "pyperf", "stats", str(out)], capture_output=True, text=True)
    assert stats.returncode == 0 and "Mean +- std dev" in stats.stdout
