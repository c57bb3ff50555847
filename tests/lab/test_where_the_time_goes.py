"""Issue 12 in the lab guest, where raw access is allowed: type 1 split into
its two accesses (and the address read back), ECAM's load, the kernel's floor;
and ftrace's call graphs showing that the floor is the read's own path
without the access, as root and as nobody.

The split figures are the main job's (shared_boots.run_main_job: its split workload
covers both devices); the call graphs need a guest of their own (ftrace, one vCPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cfgbench import runs
from cfgbench.compare.breakdown import breakdowns
from cfgbench.compare.render import breakdown_line
from cfgbench.schema import KERNEL_FLOOR_RETURNS_IN
from cfgbench.address import Bdf, type1_address
from cfgbench.lab.guest import GuestConfig, run_in_guest
from cfgbench.lab import calltrace
from cfgbench.results import load_suite

from .shared_boots import MainJob

pytestmark = pytest.mark.lab

DEVICES = ("0000:00:00.0", "0000:01:00.0")
# Loose on purpose: behaviour, not figures (benchmarks/breakdown.py measures
# the sum against the read over several labs; results/breakdown-lab/).
SUM_WITHIN = 0.30


@pytest.fixture(scope="module")
def split_run(main_job_run: MainJob) -> Path:
    """The main job's files: its split workload times each access of both devices' reads."""
    return main_job_run.out


def test_every_access_was_timed_and_read_what_it_must(split_run: Path) -> None:
    pio = load_suite(split_run / "lab-pio.json")
    for device in DEVICES:
        target = f"{device}+0x000/4"
        names = {b.get_name() for b in pio.get_benchmarks()}
        assert {f"split {target} {a}" for a in ("address-write", "data-read", "address-read")} <= names
        address = pio.get_benchmark(f"split {target} address-read").get_metadata()["cfgbench_value"]
        bus = int(device.split(":")[1], 16)
        assert int(address, 16) == type1_address(Bdf(0, bus, 0, 0), 0)  # 0xCF8 reads back the latched address
    for method in ("pio", "mmio", "kernel"):
        for bench in load_suite(split_run / f"lab-{method}.json").get_benchmarks():
            assert runs.totals(bench).mismatches == 0, (method, bench.get_name())


def test_type1s_accesses_add_up_to_its_read(split_run: Path) -> None:
    found = breakdowns(load_suite(split_run / "lab-pio.json").get_benchmarks())
    assert len(found) == len(DEVICES)
    for b in found:
        assert b.mechanism == "type 1" and [p.label for p in b.parts] == ["address write (0xCF8)", "data read (0xCFC)"]
        assert abs(b.sum_ratio - 1) <= SUM_WITHIN, breakdown_line(b)
        assert all(p.seconds < b.full_s for p in b.parts)


def test_ecams_load_is_its_read(split_run: Path) -> None:
    for b in breakdowns(load_suite(split_run / "lab-mmio.json").get_benchmarks()):
        assert b.mechanism == "ECAM" and abs(b.sum_ratio - 1) <= SUM_WITHIN, breakdown_line(b)


def test_the_kernel_floor_is_below_the_read(split_run: Path) -> None:
    suite = load_suite(split_run / "lab-kernel.json")
    for device in DEVICES:
        assert suite.get_benchmark(f"split {device} floor").get_metadata()[KERNEL_FLOOR_RETURNS_IN] == "pci_read_config"
    for b in breakdowns(suite.get_benchmarks()):
        assert b.floor is not None and 0 < b.floor.seconds < b.full_s, breakdown_line(b)


@pytest.fixture(scope="module")
def call_graphs(lab_installed: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, calltrace.Call]:
    outdir = tmp_path_factory.mktemp("ftrace")
    result = run_in_guest(["sh", "-c", calltrace.guest_script()], GuestConfig(accel="tcg", smp=calltrace.GUEST_VCPUS, timeout_s=240),
                          outdir=outdir)
    assert result.returncode == 0, result.output
    return calltrace.parse((outdir / "trace.txt").read_text())


@pytest.mark.parametrize(("who", "label", "mechanism"), [("root", "type1", calltrace.TYPE1_CALL),
                                                          ("root", "ecam", calltrace.ECAM_CALL),
                                                          ("nobody", "type1", calltrace.TYPE1_CALL)])
def test_the_floor_is_the_reads_own_path_without_the_access(call_graphs: dict[str, calltrace.Call], who: str,
                                                            label: str, mechanism: str) -> None:
    read = call_graphs[calltrace.marker(who, "read", label)]
    floor = call_graphs[calltrace.marker(who, "floor", label)]
    assert read.path_to(mechanism) is not None  # the read reaches type 1 or ECAM
    assert calltrace.floor_difference(read, floor) == []
    assert calltrace.access_calls(floor) == [] and mechanism not in floor.names()
    assert "pci_user_read_config_dword" in {c.name for c in calltrace.access_calls(read)}


def test_the_end_of_file_fallback_lacks_only_pci_read_configs_check(call_graphs: dict[str, calltrace.Call]) -> None:
    read = call_graphs[calltrace.marker("root", "read", "type1")]
    end = call_graphs[calltrace.marker("root", "end-of-file", "type1")]
    assert [line.replace(" ", "") for line in calltrace.floor_difference(read, end)] == \
        ["-pci_read_config", "-file_ns_capable", "-security_capable"]
