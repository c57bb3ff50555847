"""The split workload (issue 12): each read and its accesses timed alone, in
the same rounds. On the fake backend (type 1's and ECAM's accesses over
memory) and on this machine's kernel method (sysfs reads only: the floor is
real here, as root and as nobody)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from cfgbench import access, runs, workloads
from cfgbench.access.base import SplitPart
from cfgbench.access.fake import FakeAccessor
from cfgbench.access.sysfs import SysfsAccessor, _descriptor_without_admin, config_path
from cfgbench.address import Bdf, type1_address
from cfgbench.compare.breakdown import breakdowns
from cfgbench.plan import Plan, PlanRequest, Target
from cfgbench.planner import build_plan
from cfgbench.results import load_suite
from cfgbench.schema import KERNEL_FLOOR, KERNEL_FLOOR_RETURNS_IN, KERNEL_PATH, SPLIT_WORKLOAD
from cfgbench.settings import Settings

from cli_helpers import QUICK_IN_PROCESS, cfgbench

T0 = "0000:00:00.0+0x000/4"
HOST_BRIDGE = Bdf(0, 0, 0, 0)


def request(methods: list[str], *workload_names: str, offsets: tuple[int, ...] = (0,)) -> PlanRequest:
    return PlanRequest(methods=methods, targets=[Target(HOST_BRIDGE, o, 4) for o in offsets],
                       workloads=list(workload_names) or ["split"])


def test_split_plans_the_read_and_each_access_once(fake_dump: Path) -> None:
    notes: list[str] = []
    plan = build_plan(request(["fake"], "read", "split", offsets=(0, 0x100)), notes.append)
    names = [m.bench_name for m in plan.benches]
    assert names == [
        f"read {T0}", "read 0000:00:00.0+0x100/4",
        "split 0000:00:00.0 floor",  # one per function, whatever the offset; first with the reads of both kernel paths
        f"split {T0} address-write", f"split {T0} data-read", f"split {T0} address-read", f"split {T0} load",
        "split 0000:00:00.0+0x100/4 load",
    ]
    by_name = {m.bench_name: m for m in plan.benches}
    assert by_name[f"split {T0} address-read"].reads[0].expected == type1_address(HOST_BRIDGE, 0)
    assert by_name[f"split {T0} data-read"].reads[0].expected == 0x0D578086
    assert by_name[f"split {T0} address-write"].reads[0].expected == 0
    assert KERNEL_PATH not in by_name["split 0000:00:00.0 floor"].metadata  # it reaches no register
    assert by_name[f"split {T0} data-read"].metadata[KERNEL_PATH] == "type1"
    assert notes == []


def test_the_plan_survives_the_trip_to_a_worker(fake_dump: Path, tmp_path: Path) -> None:
    plan = build_plan(request(["fake"]), lambda _line: None)
    plan.dump(tmp_path / "plan.json")
    loaded = Plan.load(tmp_path / "plan.json")
    assert [(m.bench_name, m.access, m.metadata, m.reads) for m in loaded.benches] == \
        [(m.bench_name, m.access, m.metadata, m.reads) for m in plan.benches]


def test_an_access_that_fails_its_check_is_named_and_not_timed(fake_dump: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    original = FakeAccessor.split_parts

    def wrong_address(self: FakeAccessor, bdf: Bdf, offset: int, width: int, value: int) -> list[SplitPart]:
        parts = original(self, bdf, offset, width, value)
        return [SplitPart(p.access, p.label, p.mechanism, p.role, p.offset, p.width, p.expected ^ 1,
                          unverified="this host does not read it back")
                if p.access == "address-read" else p for p in parts]

    monkeypatch.setattr(FakeAccessor, "split_parts", wrong_address)
    notes: list[str] = []
    plan = build_plan(request(["fake"]), notes.append)
    assert notes == [f"fake address-read of {T0}: this host does not read it back"]
    assert f"split {T0} address-read" not in [m.bench_name for m in plan.benches]
    assert f"split {T0} data-read" in [m.bench_name for m in plan.benches]


def test_a_method_offers_only_its_own_accesses(fake_dump: Path) -> None:
    assert access.METHODS["pio"].accesses == ("address-write", "data-read", "address-read")
    assert access.METHODS["mmio"].accesses == ("load",)
    assert access.METHODS["kernel"].accesses == ("floor",)
    with SysfsAccessor() as kernel:
        with pytest.raises(Exception, match="has no 'load' access"):
            kernel.target(HOST_BRIDGE, 0, 4, 0, "load")


def test_split_runs_interleaved_and_pairs_every_part_with_the_read(tmp_path: Path, fake_dump: Path) -> None:
    out = tmp_path / "split.json"
    result = cfgbench("run", "-m", "fake", "--workload", "split", "-o", str(out), *QUICK_IN_PROCESS)
    assert result.returncode == 0, result.stderr
    suite = load_suite(out)
    assert len(suite.get_benchmarks()) == 6
    for bench in suite.get_benchmarks():
        md = bench.get_metadata()
        assert md["cfgbench_schedule"] == "interleaved"  # auto: split pairs by round
        assert runs.totals(bench).mismatches == 0
        assert [r.rounds for r in runs.run_records(bench)] == [(0, 1, 2)]
    data = suite.get_benchmark(f"split {T0} data-read").get_metadata()
    assert (data["cfgbench_workload"], data["cfgbench_target"], data["cfgbench_access"]) == ("split", T0, "data-read")
    assert (data["cfgbench_access_label"], data["cfgbench_access_role"], data["cfgbench_mechanism"]) == \
        ("data read (0xCFC)", "part", "type 1")
    assert data["cfgbench_value"] == "0x0d578086" and data["cfgbench_kernel_path"] == "type1"
    floor = suite.get_benchmark("split 0000:00:00.0 floor").get_metadata()
    assert "cfgbench_kernel_path" not in floor  # it reaches no register
    assert "where the time goes (medians per read; sum/full and net per paired round, with 95% intervals):" in result.stdout
    assert "fake 00:00.0+0x000: type 1 = address write (0xCF8) " in result.stdout
    assert {b.mechanism for b in breakdowns(suite.get_benchmarks())} == {"type 1", "ECAM", "kernel (type 1)"}


# --------------------------------------------------------------------------- the kernel floor on this machine


def test_roots_floor_reads_through_a_descriptor_without_cap_sys_admin() -> None:
    """pci_read_config() asks the opener's credentials: opened with the
    effective capabilities dropped, the same file shows 64 bytes, so a read
    at 0x40 returns nothing where root's own descriptor returns 4 bytes."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    path = config_path(HOST_BRIDGE)
    fd = _descriptor_without_admin(path)
    assert fd is not None and os.geteuid() == 0  # back to root
    own = os.open(path, os.O_RDONLY)
    try:
        assert os.pread(fd, 4, 0x40) == b"" and os.pread(fd, 4, 0) == os.pread(own, 4, 0)
        assert len(os.pread(own, 4, 0x40)) == 4
    finally:
        os.close(fd)
        os.close(own)


def test_roots_fallback_floor_is_the_end_of_the_file() -> None:
    """Where seteuid is refused (floor_without_admin=False stands in for it):
    a read at the file's end, which sysfs answers before pci_read_config()."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    with SysfsAccessor(floor_without_admin=False) as kernel:
        [part] = kernel.split_parts(HOST_BRIDGE, 0, 4, 0)
        assert part.metadata[KERNEL_FLOOR_RETURNS_IN] == "sysfs_kf_bin_read"
        assert "the end of the file" in part.metadata[KERNEL_FLOOR]
        assert kernel.read(HOST_BRIDGE, 0, 4, "floor") == 0  # bytes returned


def test_the_kernel_floor_here_returns_nothing_and_costs_less_than_the_read(tmp_path: Path) -> None:
    out = tmp_path / "kernel.json"
    result = cfgbench("run", "-m", "kernel", "--workload", "split", "--samples", "0", "-o", str(out),
                      *QUICK_IN_PROCESS)
    assert result.returncode == 0, result.stderr
    suite = load_suite(out)
    floor = suite.get_benchmark("split 0000:00:00.0 floor")
    md = floor.get_metadata()
    assert md[KERNEL_FLOOR_RETURNS_IN] == "pci_read_config"
    # Root's floor reads through a descriptor opened without CAP_SYS_ADMIN, a
    # normal user's through the reads' own (the next test runs it as nobody).
    assert ("without CAP_SYS_ADMIN" if os.geteuid() == 0 else "reads' own descriptor") in md[KERNEL_FLOOR]
    assert runs.totals(floor).mismatches == 0  # every pread returned 0 bytes
    # The kernel alone times its two paths by default, each against the same floor.
    assert [b.mechanism for b in breakdowns(suite.get_benchmarks())] == ["kernel (type 1)", "kernel (ECAM)"]
    assert all(b.floor is not None and 0 < b.floor.seconds < b.full_s for b in breakdowns(suite.get_benchmarks()))
    assert "kernel 00:00.0+0x000: kernel (type 1) = " in result.stdout and " floor = " in result.stdout


SETPRIV = shutil.which("setpriv")


@pytest.mark.skipif(SETPRIV is None or os.geteuid() != 0, reason="needs setpriv and root to become nobody")
def test_an_unprivileged_user_gets_the_floor_on_the_reads_own_descriptor() -> None:
    """What a normal user in a cloud VM can run: the first 64 bytes, and the
    floor at 0x40 of the same descriptor."""
    with tempfile.TemporaryDirectory(prefix="cfgbench-nobody-") as directory:
        os.chmod(directory, 0o777)
        out = Path(directory) / "kernel.json"
        command = [SETPRIV, "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m", "cfgbench",
                   "run", "-m", "kernel", "--workload", "split", "--samples", "0", *QUICK_IN_PROCESS]
        done = subprocess.run([*command, "-o", str(out)], capture_output=True, text=True, timeout=300, cwd=directory)
        assert done.returncode == 0, done.stderr
        floor = load_suite(out).get_benchmark("split 0000:00:00.0 floor")
        assert "reads' own descriptor" in floor.get_metadata()[KERNEL_FLOOR]
        assert runs.totals(floor).mismatches == 0
        refused = subprocess.run([*command, "--offset", "0x100"], capture_output=True, text=True, timeout=300,
                                 cwd=directory)
        assert refused.returncode == 2 and "only the first 64 bytes" in refused.stderr


def test_the_workload_is_offered_and_split_runs_are_interleaved() -> None:
    assert SPLIT_WORKLOAD in workloads.WORKLOADS
    assert Settings().resolved(several_methods=False, split=True).schedule == "interleaved"
    assert Settings().resolved(several_methods=False, split=False).schedule == "sequential"
    assert Settings().resolved(several_methods=True, split=False).schedule == "interleaved"
