"""Intel VMD puts the functions behind it in PCI domains from 0x10000 up
(Linux prints 10000:e0:00.0). Every place that reads an address accepts them;
only the kernel method can read them: type 1 reaches domain 0 alone, and VMD's
ECAM is behind the VMD device's own BAR, in no MCFG window."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from cfgbench.access.ecam import EcamAccessor
from cfgbench.access.fake import parse_lspci_dump
from cfgbench.access.pio import PioAccessor
from cfgbench.access.sysfs import SysfsAccessor
from cfgbench.address import Bdf, parse_bdf, type1_address
from cfgbench.errors import CfgbenchError
from cfgbench.mcfg import EcamWindow
from cfgbench import runs
from cfgbench.pci import SYSFS_DEVICES_ENV, list_functions, listing_lines
from cfgbench.results import load_suite

from cli_helpers import HOST_DUMP, QUICK_IN_PROCESS, cfgbench

VMD_NVME = Bdf(0x10000, 0xE1, 0, 0)
HOST_BRIDGE = Bdf(0, 0, 0, 0)
# An NVMe controller behind VMD: vendor 8086, device 0a54, class 010802, no capabilities.
NVME_HEADER = struct.pack("<HHHHBBH", 0x8086, 0x0A54, 0x0006, 0x0000, 0x00, 0x02, 0x0108) + bytes(52)


def hex_rows(space: bytes) -> str:
    return "\n".join(f"{offset:02x}: " + " ".join(f"{b:02x}" for b in space[offset:offset + 16])
                     for offset in range(0, len(space), 16))


def dump_with_vmd(tmp_path: Path) -> Path:
    dump = tmp_path / "vmd.lspci"
    vmd = f"10000:e1:00.0 Non-Volatile memory controller: Intel Corporation Device 0a54\n{hex_rows(NVME_HEADER + bytes(192))}\n"
    dump.write_text(HOST_DUMP.read_text().rstrip("\n") + "\n\n" + vmd)
    return dump


def fake_sysfs(tmp_path: Path) -> Path:
    root = tmp_path / "devices"
    for bdf, vendor, device, cls, space in ((HOST_BRIDGE, 0x8086, 0x0D57, 0x060000, bytes(256)),
                                            (VMD_NVME, 0x8086, 0x0A54, 0x010802, NVME_HEADER + bytes(4096 - 64))):
        entry = root / str(bdf)
        entry.mkdir(parents=True)
        (entry / "vendor").write_text(f"{vendor:#06x}\n")
        (entry / "device").write_text(f"{device:#06x}\n")
        (entry / "class").write_text(f"{cls:#08x}\n")
        (entry / "config").write_bytes(space)
    return root


@pytest.mark.parametrize(("text", "bdf"), [("10000:e1:00.0", VMD_NVME), ("10001:00:1f.7", Bdf(0x10001, 0, 0x1F, 7)),
                                           ("7fffffff:ff:1f.7", Bdf(0x7FFF_FFFF, 0xFF, 0x1F, 7))])
def test_vmd_addresses_parse_and_print_as_linux_does(text: str, bdf: Bdf) -> None:
    assert parse_bdf(text) == bdf
    assert str(bdf) == text
    assert bdf.in_vmd_domain and not HOST_BRIDGE.in_vmd_domain


def test_a_domain_beyond_linux_ints_is_out_of_range() -> None:
    with pytest.raises(CfgbenchError, match="domain 0x80000000 is out of range"):
        parse_bdf("80000000:00:00.0")
    with pytest.raises(CfgbenchError, match="not a PCI address"):
        parse_bdf("100000000:00:00.0")


def test_sysfs_lists_and_reads_a_vmd_function(tmp_path: Path) -> None:
    root = fake_sysfs(tmp_path)
    kernel = SysfsAccessor(root)
    assert kernel.enumerated() == {HOST_BRIDGE, VMD_NVME}
    with kernel:
        assert kernel.read(VMD_NVME, 0, 4) == 0x0A548086


def test_cfgbench_list_shows_a_vmd_function_in_line(tmp_path: Path) -> None:
    functions = list_functions(fake_sysfs(tmp_path))
    assert [f.bdf for f in functions] == [HOST_BRIDGE, VMD_NVME]
    lines = listing_lines(functions)
    assert lines[2].startswith("10000:e1:00.0  8086:0a54      010802  4096 bytes")
    assert lines[0].index("vendor") == lines[1].index("8086") == lines[2].index("8086")


def test_the_fake_dump_parser_takes_a_vmd_function(tmp_path: Path) -> None:
    spaces = parse_lspci_dump(dump_with_vmd(tmp_path).read_text())
    assert spaces[VMD_NVME][:4] == bytes.fromhex("8680540a")


def test_cfgbench_read_of_a_vmd_function(tmp_path: Path) -> None:
    env = {"CFGBENCH_FAKE_DUMP": str(dump_with_vmd(tmp_path))}
    result = cfgbench("read", "-m", "fake", "10000:e1:00.0", "0", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "0a548086\n"


def test_cfgbench_run_times_a_vmd_function_through_the_kernel_method(tmp_path: Path) -> None:
    """`cfgbench run -d 10000:...` end to end, the kernel method reading a
    sysfs tree of ordinary files (CFGBENCH_SYSFS_DEVICES): the value read,
    and the kernel's path for a VMD domain recorded as assumed, with why."""
    env = {SYSFS_DEVICES_ENV: str(fake_sysfs(tmp_path))}
    out = tmp_path / "vmd.json"
    result = cfgbench("run", "-m", "kernel", "-d", "10000:e1:00.0", "--offset", "0", "-o", str(out), *QUICK_IN_PROCESS,
                      env=env)
    assert result.returncode == 0, result.stderr
    [bench] = load_suite(out).get_benchmarks()
    md = bench.get_metadata()
    assert bench.get_name() == "read 10000:e1:00.0+0x000/4"
    assert md["cfgbench_value"] == "0x0a548086"  # NVME_HEADER's vendor and device
    assert md["cfgbench_kernel_path"] == "ecam" and "VMD domain" in md["cfgbench_kernel_path_source"]
    assert runs.totals(bench).mismatches == 0


def test_the_test_suites_sysfs_tree_is_what_list_shows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SYSFS_DEVICES_ENV, str(fake_sysfs(tmp_path)))
    assert [f.bdf for f in list_functions()] == [HOST_BRIDGE, VMD_NVME]
    assert SysfsAccessor().enumerated() == {HOST_BRIDGE, VMD_NVME}


def test_type1_cannot_reach_a_vmd_domain_and_says_use_the_kernel() -> None:
    with pytest.raises(CfgbenchError) as refused:
        PioAccessor().check_reach(VMD_NVME, 0, 4)
    line = refused.value.one_line()
    assert "domain 0 only" in line and "VMD" in line and "--method=kernel" in line and "--method=mmio" not in line
    with pytest.raises(CfgbenchError, match="VMD"):
        type1_address(VMD_NVME, 0)


def test_mmio_cannot_reach_a_vmd_domain_and_says_why() -> None:
    mmio = EcamAccessor()
    mmio.windows = [EcamWindow(0, 0, 0xFF, 0xB000_0000)]
    with pytest.raises(CfgbenchError) as refused:
        mmio.check_reach(VMD_NVME, 0, 4)
    line = refused.value.one_line()
    assert "VMD" in line and "MCFG" in line and "BAR" in line and "--method=kernel" in line
