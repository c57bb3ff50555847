"""The enumeration's own access pattern (issue 23), without a guest: the probe and peer-probe
workloads (a new function at every read, and their hot partners), the cold/hot statistic paired
by round, the rescan projection's arithmetic on a census, the A/A that switches, both A/B arms
at the same rescans per value, the in-situ accessor times, and `cfgbench lab --vcpus`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyperf
import pytest
from click.testing import CliRunner

from cfgbench import planner, results
from cfgbench.compare.model import cold_hot, report_of
from cfgbench.compare.render import pattern_lines
from cfgbench.lab import enumeration, enumeration_job, mainjob
from cfgbench.lab.guest import GuestConfig
from cfgbench.address import parse_bdf
from cfgbench.lab.census import Census, parse_file
from cfgbench.pci import SYSFS_DEVICES_ENV
from cfgbench.platform import LAB_VAR
from cfgbench.plan import BenchSpec, PlanRequest, Target
from cfgbench.planner import build_plan
from cfgbench.schema import HOT_PARTNER, LAB_ACCEL, ROUNDS, SCAN_FUNCTIONS, SESSION
from cfgbench.settings import PRESETS

from cli_helpers import QUICK_IN_PROCESS, cfgbench

DATA = Path(__file__).parent / "data"
LABELS = ["rescan 0000:00:03.0 type1-first", "rescan 0000:00:03.0 ecam-only"]


def planned(methods: list[str], workloads: list[str]) -> dict[str, BenchSpec]:
    return {f"{s.method} {s.bench_name}": s for s in build_plan(PlanRequest(methods, [], workloads), print).benches}


@pytest.fixture
def two_buses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(planner, "_default_scan_buses", lambda: range(0, 2))


def test_a_pass_reads_a_new_function_every_read_and_pairs_with_an_absent_register(fake_dump: Path, two_buses: None) -> None:
    benches = planned(["fake"], ["probe", "peer-probe"])
    for workload, stride in (("probe", 1), ("peer-probe", 8)):
        cold = benches[f"fake {workload} 0000:00-01"]
        functions = [r.bdf for r in cold.reads]
        assert len(functions) == len(set(functions)) == 2 * 256 // stride  # never the same page twice in a pass
        assert all(((f.device << 3) | f.function) % stride == 0 and r.offset == 0 for f, r in zip(functions, cold.reads, strict=True))
        # the pass reads mostly absent functions: its hot partner is an absent one it reads
        hot = benches[f"fake {cold.metadata[HOT_PARTNER]}"]
        [read] = hot.reads
        assert hot.workload == "hot" and read.expected == 0xFFFF_FFFF and read.bdf in functions
    assert benches["fake probe 0000:00-01"].metadata[SCAN_FUNCTIONS] == 6  # the dump's functions, all on bus 0


def test_the_kernel_reads_only_the_functions_it_lists_and_pairs_with_a_present_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, two_buses: None) -> None:
    root = tmp_path / "devices"
    for name, size in (("0000:00:00.0", 4096), ("0000:00:08.0", 256), ("0000:01:00.0", 4096), ("0000:01:00.1", 4096)):
        (root / name).mkdir(parents=True)
        (root / name / "config").write_bytes(bytes.fromhex("86800d57") + bytes(size - 4))
    monkeypatch.setenv(SYSFS_DEVICES_ENV, str(root))
    benches = planned(["kernel"], ["peer-probe"])
    cold = benches["kernel peer-probe 0000:00-01"]
    assert [r.device for r in cold.reads] == ["0000:00:00.0", "0000:00:08.0", "0000:01:00.0"]  # no 01:00.1: stride 8
    assert cold.metadata[HOT_PARTNER] == "hot 0000:00:00.0+0x000/4" and cold.metadata[SCAN_FUNCTIONS] == 3
    extended = benches.get("kernel peer-probe 0000:00-01+0x100")
    if os.geteuid() == 0:  # a normal user sees 64 bytes: no ECAM half to read
        assert extended is not None and [(r.device, r.offset) for r in extended.reads] == [
            ("0000:00:00.0", 0x100), ("0000:01:00.0", 0x100)]
        # no extended capability reads 0 at 0x100: the function is there all the same
        assert extended.metadata[HOT_PARTNER] == "hot 0000:00:00.0+0x100/4" and extended.metadata[SCAN_FUNCTIONS] == 2


def paired_bench(name: str, values: list[float], session: str = "boot-1", **metadata: object) -> pyperf.Benchmark:
    return pyperf.Benchmark([pyperf.Run(values, collect_metadata=False, metadata={
        "name": name, "unit": "second", "loops": 1, SESSION: session, ROUNDS: ",".join(map(str, range(len(values)))),
        **metadata})])


def test_cold_over_hot_is_paired_by_round() -> None:
    # the machine changes speed from round to round; the cold pass costs 2x its hot register in each
    speed = [1.0, 1.5, 0.8, 1.2, 2.0, 1.0, 0.9, 1.1]
    hot = paired_bench("hot 0000:ff:1f.0+0x000/4", [100e-9 * s for s in speed], cfgbench_value="0xffffffff")
    cold = paired_bench("peer-probe 0000:00-ff", [200e-9 * s for s in speed],
                        cfgbench_reads_per_pass=8192, cfgbench_scan_functions=6, **{HOT_PARTNER: hot.get_name()})
    [row] = cold_hot({"mmio": pyperf.BenchmarkSuite([cold, hot])})
    assert row.estimate is not None
    assert row.estimate.ratio == pytest.approx(2.0) and row.estimate.low == pytest.approx(2.0)
    [line] = pattern_lines([row])
    assert line.startswith("peer-probe 00-ff, per read, against one of its registers read over and over: ")
    assert "mmio 210.0 ns against 105.0 ns (absent ff:1f.0+0x000/4) = 2.00x" in line  # medians


def ab_files(outdir: Path, type1_first_s: float, ecam_only_s: float) -> None:
    for order, seconds in (("type1-first", type1_first_s), ("ecam-only", ecam_only_s)):
        bench = paired_bench("rescan 0000:00:03.0", [seconds * (1 + 0.01 * (k % 3)) for k in range(8)],
                             cfgbench_target="0000:00:03.0", cfgbench_rescan_functions=1, cfgbench_method="kernel",
                             cfgbench_workload="rescan", cfgbench_kernel_order=order)
        results.save_suite(pyperf.BenchmarkSuite([bench]), outdir / enumeration.RESULT_NAME.format(order=order))


def test_the_projection_prices_the_censuss_reads_and_writes_apart(tmp_path: Path) -> None:
    census = parse_file(DATA / "census-default-rescan.trace")
    census.windows = [type(w)(w.index, LABELS[w.index], w.tally) for w in census.windows]
    window = census.windows[0].tally
    assert (window.count("type1", "read"), window.count("type1", "write")) == (124, 49)
    ab_files(tmp_path, 9.6e-3, 10e-3)
    for method, cold_s in (("pio", 170e-9), ("mmio", 180e-9)):  # ECAM 10 ns dearer per cold read
        bench = paired_bench("peer-probe 0000:00-ff", [cold_s] * 8)
        results.save_suite(pyperf.BenchmarkSuite([bench]), tmp_path / enumeration.COLD_NAME.format(method=method))
    # each rescan's calls in order; its writes' medians, position by position, 1.3 ms dearer with ECAM only
    rows = [{"order": "type1-first", "ns": 1, "accessors": {}, "calls": [["type1-read", 1e-6], ["type1-write", w]]}
            for w in (0.0039, 0.004, 0.0041)]
    rows += [{"order": "ecam-only", "ns": 1, "accessors": {}, "calls": [["ecam-read", 2e-6], ["ecam-write", w]]}
             for w in (0.0053, 0.1, 0.0052)]  # a long call (an interrupt inside one) does not move a median
    (tmp_path / "boot-1").mkdir()
    (tmp_path / "boot-1" / enumeration.ACCESSOR_TIMES).write_text(json.dumps(rows))
    paths = [str(tmp_path / enumeration.RESULT_NAME.format(order=o)) for o in ("type1-first", "ecam-only")]
    answer = enumeration_job.rescan_answer(tmp_path, report_of({}, more=paths), census, {})
    assert answer is not None
    ecam_only_s = answer.ecam_only_s
    assert answer.per_write_s == pytest.approx(1.3e-3 / 49)
    assert answer.projection == pytest.approx(1 - (124 * 10e-9 + 1.3e-3) / ecam_only_s)
    [line, _] = enumeration_job.answer_lines(answer, census)
    assert "from 124 type 1 reads at +10.0 ns each (ECAM less type 1, cold: peer-probe 00-ff)" in line
    assert "and 49 type 1 writes at +26.5 us each (in situ: each write's median over 3 traced rescans per order" in line


def test_the_accessors_timed_in_situ_are_read_from_function_graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "trace").write_text("\n".join([
        "# tracer: function_graph", "#", " 0)   1.302 us    |  pci_conf1_read();",
        " 0) ! 862.117 us  |  pci_conf1_write();", " 0)   1.151 us    |  pci_mmcfg_read();", ""]))
    monkeypatch.setattr(enumeration, "TRACEFS", tmp_path)
    tracer = object.__new__(enumeration.AccessorCount)
    assert tracer.calls() == [("type1-read", pytest.approx(1.302e-6)), ("type1-write", pytest.approx(862.117e-6)),
                              ("ecam-read", pytest.approx(1.151e-6))]


class FakeRescans:
    """Rescans with no sysfs behind them: each order's set_order calls, each arm's own time."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, seconds: dict[str, float]) -> None:
        self.orders: list[str] = []
        monkeypatch.setenv(LAB_VAR, json.dumps({LAB_ACCEL: "tcg"}))
        monkeypatch.setattr(enumeration, "set_order", self.orders.append)
        monkeypatch.setattr(enumeration, "secondary_bus", lambda port: Path("/nonexistent/0000:01"))
        monkeypatch.setattr(enumeration, "subtree", lambda port: ["0000:01:00.0"])
        monkeypatch.setattr(enumeration, "kernel_read_function", lambda: "pci_conf1_read")
        monkeypatch.setattr(enumeration, "SYSFS_DEVICES", Path("/"))  # (SYSFS_DEVICES / port).exists()
        monkeypatch.setattr(enumeration.Rescan, "remove", lambda self: None)
        monkeypatch.setattr(enumeration.Rescan, "rescan",
                            lambda self: int(seconds["again" if self.name.endswith("again") else self.order] * 1e9))


SETTINGS = PRESETS["lab"].with_options(values=4, min_time=0.04, warmups=0)


def test_the_aa_switches_for_real_before_every_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeRescans(monkeypatch, {"type1-first": 0.01, "again": 0.01})
    path = enumeration.time_aa("tmp", "type1-first", tmp_path, SETTINGS)
    a, again = results.load_suite(path).get_benchmarks()
    assert (a.get_name(), again.get_name()) == ("rescan tmp A", "rescan tmp A again")
    # 2 arms x 4 rounds, then the kernel's own order back: every value goes to ECAM only and back first
    assert fake.orders[-17:] == ["ecam-only", "type1-first"] * 8 + ["type1-first"]


def test_both_orders_time_the_same_rescans_per_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    FakeRescans(monkeypatch, {"type1-first": 0.011, "ecam-only": 0.006})  # alone: 4 and 8 rescans per 40 ms
    paths = enumeration.time_ab("tmp", tmp_path, SETTINGS)
    loops = [results.load_suite(p).get_benchmarks()[0].get_metadata()["loops"] for p in paths]
    assert loops == [8, 8]


def test_lab_vcpus_reach_the_timing_guest(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from cfgbench.cli import main

    seen = []

    def main_job(cfg: GuestConfig, *args: object, **kwargs: object) -> int:
        seen.append(cfg.smp)
        return 0

    monkeypatch.setattr(mainjob, "main_job", main_job)
    assert CliRunner().invoke(main, ["lab", "--vcpus", "1", "--out", str(tmp_path)]).exit_code == 0
    assert seen == [1]
    assert CliRunner().invoke(main, ["lab", "--vcpus", "0"]).exit_code == 2



def test_a_census_window_keeps_its_accesses_in_order_with_their_registers() -> None:
    census = parse_file(DATA / "census-default-rescan.trace")
    sequence = census.windows[0].sequence
    assert len(sequence) == 221 and sum(key == "type1-read" for key, *_ in sequence) == 124
    # the rescan starts with the e1000e's vendor ID, header type and status, then its first ECAM read
    assert [(key, function, register) for key, function, register, _ in sequence[:3]] == [
        ("type1-read", "01:00.0", 0x0), ("type1-read", "01:00.0", 0xE), ("type1-read", "01:00.0", 0x6)]
    assert sequence[10][:3] == ("ecam-read", "01:00.0", 0x100)
    again = Census.from_json(json.loads(json.dumps(census.to_json())))
    assert again.windows[0].sequence == sequence


def test_a_sequence_reads_its_targets_in_the_order_given(fake_dump: Path) -> None:
    order = [("0000:00:02.0", 0x04), ("0000:00:00.0", 0x00), ("0000:00:02.0", 0x00)]
    targets = [Target(parse_bdf(bdf), offset, 4) for bdf, offset in order]
    [cold, hot] = build_plan(PlanRequest(["fake"], targets, ["sequence"]), print).benches
    assert [(r.device, r.offset) for r in cold.reads] == order
    assert cold.bench_name == "sequence 0000:00:02.0+0x004/4 3 reads" and cold.metadata[SCAN_FUNCTIONS] == 2
    assert hot.bench_name == cold.metadata[HOT_PARTNER] == "hot 0000:00:02.0+0x004/4"


def test_cfgbench_run_interleaves_a_pass_with_its_hot_register_and_prints_the_pair(fake_dump: Path, tmp_path: Path) -> None:
    out = tmp_path / "fake.json"
    result = cfgbench("run", "-m", "fake", "--workload", "peer-probe", "-o", str(out), *QUICK_IN_PROCESS)
    assert result.returncode == 0, result.stderr
    benches = results.load_suite(out).get_benchmarks()
    assert {b.get_metadata()["cfgbench_schedule"] for b in benches} == {"interleaved"}  # one method: auto pairs them
    [line] = [line for line in result.stdout.splitlines() if ", per read, against one of its registers" in line]
    assert line.startswith("peer-probe ") and ": fake " in line
