"""One shared guest boot (plus a second guest at the same time) checks the lab end to end."""

from __future__ import annotations

import json
import re
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from cfgbench.lab import GuestConfig, GuestResult, run_in_guest
from cfgbench.lab.kernel import find_kernel

pytestmark = pytest.mark.lab

# Runs in the guest; every check leaves a file in the results share, then exits 3
# so that the exit status is seen to come back.
GUEST_SCRIPT = textwrap.dedent(r"""
    set -u
    out=$CFGBENCH_LAB_OUT
    now() { date +%s.%N; }
    t0=$(now); python3 -c pass; t1=$(now)
    lspci -A intel-conf1 -xxx > "$out/conf1.txt"; t2=$(now)
    lspci -A linux-sysfs -xxx > "$out/sysfs.txt"
    lspci -A linux-sysfs -xxxx > "$out/sysfs-ext.txt"
    python3 -c 'import os, sys, cfgbench; print(cfgbench.__file__); print(sys.executable); print(os.environ.get("CFGBENCH_FORBID_RAW", "unset"))' > "$out/python.txt"
    echo "python_pass $t0 $t1" > "$out/timings.txt"
    echo "lspci_conf1 $t1 $t2" >> "$out/timings.txt"
    stat -c %s /sys/bus/pci/devices/0000:01:00.0/config > "$out/config-size.txt"
    python3 - > "$out/methods.json" <<'PY'
    import json
    from cfgbench import access
    from cfgbench.pci import list_functions
    reads = {}
    with access.create("pio") as pio, access.create("mmio") as mmio, access.create("kernel") as kernel:
        for function in list_functions():
            offsets = [0x00, 0x08, 0x2C] + ([0x100] if function.config_size == 4096 else [])
            for offset in offsets:
                methods = [mmio, kernel] + ([pio] if offset < 0x100 else [])
                key = f"{function.bdf}+{offset:#x}"
                reads[key] = {m.name: m.read(function.bdf, offset, 4) for m in methods}
    print(json.dumps(reads))
    PY
    echo "to stdout"
    echo "to stderr" >&2
    exit 3
""")


@dataclass
class Lab:
    result: GuestResult
    out: Path
    progress: list[str]
    twin: GuestResult
    twin_out: Path


@pytest.fixture(scope="session")
def lab(lab_installed: None, tmp_path_factory: pytest.TempPathFactory) -> Lab:
    out, twin_out = tmp_path_factory.mktemp("lab-out"), tmp_path_factory.mktemp("lab-twin")
    progress: list[str] = []
    cfg = GuestConfig(accel="tcg", timeout_s=240)
    # A second lab at the same time must not collide with the first (temp dirs, shares).
    with ThreadPoolExecutor(max_workers=2) as pool:
        main = pool.submit(run_in_guest, ["sh", "-c", GUEST_SCRIPT], cfg, outdir=out,
                           env={"CFGBENCH_FORBID_RAW": "1"}, progress=progress.append)
        twin = pool.submit(run_in_guest, ["sh", "-c", 'echo twin > "$CFGBENCH_LAB_OUT/who"'], cfg,
                           outdir=twin_out)
        return Lab(main.result(), out, progress, twin.result(), twin_out)


def test_exit_status_and_output_come_back(lab: Lab) -> None:
    assert lab.result.returncode == 3
    assert "to stdout\n" in lab.result.output
    assert "to stderr\n" in lab.result.output
    assert "@@cfgbench-lab" not in lab.result.output


def test_results_share_is_writable_and_private(lab: Lab) -> None:
    assert (lab.twin_out / "who").read_text() == "twin\n"
    assert lab.twin.returncode == 0
    assert not (lab.out / "who").exists()
    assert not (lab.twin_out / "conf1.txt").exists()


def test_host_python_and_cfgbench_run_inside_without_the_raw_guard(lab: Lab) -> None:
    module, executable, guard = (lab.out / "python.txt").read_text().splitlines()
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


def test_type1_and_sysfs_read_the_same_config_space(lab: Lab) -> None:
    conf1 = _dumps((lab.out / "conf1.txt").read_text())
    sysfs = _dumps((lab.out / "sysfs.txt").read_text())
    assert {"00:00.0", "01:00.0"} <= set(conf1)
    assert conf1 == sysfs


def _dword(dump: str, offset: int) -> int:
    """The little-endian dword at offset of an lspci -x hex dump."""
    rows = {int(line.split(":")[0], 16): bytes.fromhex(line.split(":", 1)[1]) for line in dump.splitlines()}
    row = rows[offset & ~0xF]
    return int.from_bytes(row[offset & 0xF : (offset & 0xF) + 4], "little")


def test_pio_mmio_and_kernel_read_what_pciutils_reads(lab: Lab) -> None:
    """Every function, offsets 0x00, 0x08, 0x2c (and 0x100 with extended space):
    the three methods agree with each other and with lspci's two readers."""
    reads = json.loads((lab.out / "methods.json").read_text())
    conf1 = _dumps((lab.out / "conf1.txt").read_text())
    sysfs = _dumps((lab.out / "sysfs-ext.txt").read_text())
    assert {"0000:00:00.0+0x0", "0000:01:00.0+0x100"} <= set(reads)
    for key, by_method in reads.items():
        device, offset_text = key.split("+")
        offset, short = int(offset_text, 16), device.removeprefix("0000:")
        expected = {_dword(sysfs[short], offset)} | ({_dword(conf1[short], offset)} if offset < 0x100 else set())
        assert len(expected) == 1, key
        assert set(by_method.values()) == expected, (key, by_method)
        assert set(by_method) == ({"pio", "mmio", "kernel"} if offset < 0x100 else {"mmio", "kernel"})


def test_pcie_target_behind_root_port_has_extended_config_space(lab: Lab) -> None:
    assert (lab.out / "config-size.txt").read_text().strip() == "4096"
    extended = _dumps((lab.out / "sysfs-ext.txt").read_text())["01:00.0"]
    assert re.search(r"^ff0:", extended, re.MULTILINE)


def test_lab_metadata_and_timings(lab: Lab) -> None:
    md = lab.result.lab_metadata
    assert md["accel"] == "tcg"
    assert md["machine"] == "q35"
    assert re.fullmatch(r"\d+\.\d+\S*", md["qemu"])
    assert md["kernel_release"] == find_kernel().release
    assert "iomem=relaxed" in md["cmdline"].split()
    assert 0 < lab.result.boot_seconds < lab.result.wall_seconds
    assert any(line.startswith("guest up in") for line in lab.progress)
    timings = {name: float(end) - float(start)
               for name, start, end in (line.split() for line in (lab.out / "timings.txt").read_text().splitlines())}
    print(f"\nlab timings (tcg): boot {lab.result.boot_seconds:.2f} s, wall {lab.result.wall_seconds:.2f} s, "
          + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in timings.items()))
