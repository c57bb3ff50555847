"""One shared guest boot (plus a second guest at the same time) checks the lab end to end."""

from __future__ import annotations

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


def test_pcie_target_behind_root_port_has_extended_config_space(lab: Lab) -> None:
    assert (lab.out / "config-size.txt").read_text().strip() == "4096"
    extended = _dumps((lab.out / "sysfs-ext.txt").read_text())["01:00.0"]
    assert re.search(r"^ff0:", extended, re.MULTILINE)


def test_lab_metadata_and_timings(lab: Lab) -> None:
    md = lab.result.lab_metadata
    assert md["accel"] == "tcg"
    assert md["machine"] == "q35"
    assert re.fullmatch(r"\d+\.\d+\S*", md["qemu"])
    assert md["kernel"] == find_kernel().release
    assert "iomem=relaxed" in md["cmdline"].split()
    assert 0 < lab.result.boot_seconds < lab.result.wall_seconds
    assert any(line.startswith("guest up in") for line in lab.progress)
    timings = {name: float(end) - float(start)
               for name, start, end in (line.split() for line in (lab.out / "timings.txt").read_text().splitlines())}
    print(f"\nlab timings (tcg): boot {lab.result.boot_seconds:.2f} s, wall {lab.result.wall_seconds:.2f} s, "
          + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in timings.items()))
