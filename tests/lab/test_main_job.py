"""The lab's main job end to end (shared_boots.run_main_job): a census boot, then two
timing boots that each time pio, mmio and kernel interleaved and the rescan A/B;
the boots merged into one file per method; the headline and the enumeration's
answer. And a user's own run in the default guest (shared_boots.RUN)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyperf
import pytest

from cfgbench import access, runs
from cfgbench.lab.enumeration import AB_SETTINGS
from cfgbench.lab.mainjob import rescan_paths, result_paths

from .shared_boots import MAIN_JOB_BOOTS, MAIN_JOB_ROUNDS, DefaultBoot, MainJob

pytestmark = pytest.mark.lab

HOST_BRIDGE = "read 0000:00:00.0+0x000/4"
BOOT_DIRS = [f"boot-{k}" for k in range(1, MAIN_JOB_BOOTS + 1)]


def _bench(path: Path, name: str = HOST_BRIDGE) -> pyperf.Benchmark:
    return pyperf.BenchmarkSuite.load(str(path)).get_benchmark(name)


def test_every_method_wrote_results_that_pyperf_compares(main_job_run: MainJob) -> None:
    paths = result_paths(main_job_run.out)
    assert [p.name for p in paths] == [f"lab-{m}.json" for m in access.user_methods()] == \
        ["lab-pio.json", "lab-mmio.json", "lab-kernel.json"]
    completed = subprocess.run([sys.executable, "-m", "pyperf", "compare_to", *map(str, paths)],
                               capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr


def test_results_record_the_lab_and_its_physical_host(main_job_run: MainJob) -> None:
    for path in result_paths(main_job_run.out):
        metadata = _bench(path).get_metadata()
        assert metadata["cfgbench_lab_accel"] == "tcg"
        assert metadata["cfgbench_lab_machine"] == "q35"
        assert "iomem=relaxed" in metadata["cfgbench_lab_cmdline"]
        assert metadata["cfgbench_lab_host_kernel"] == os.uname().release  # the host's, not the guest's
        assert metadata["cfgbench_lab_host_cpu"] and metadata["cfgbench_lab_host"]


def test_each_boot_interleaved_the_methods_in_one_session(main_job_run: MainJob) -> None:
    for boot in BOOT_DIRS:
        benches = [_bench(path) for path in result_paths(main_job_run.out / boot)]
        assert len({s for b in benches for s in runs.sessions(b)}) == 1, boot
        for bench in benches:
            assert [r.rounds for r in runs.run_records(bench)] == [tuple(range(MAIN_JOB_ROUNDS))]
            assert bench.get_metadata()["cfgbench_schedule"] == "interleaved"


@pytest.mark.parametrize("kind", ["methods", "rescans"])
def test_the_merged_files_hold_every_boots_runs(main_job_run: MainJob, kind: str) -> None:
    """Each boot is a session of its own in the merged file: none dropped, none doubled."""
    paths = {"methods": result_paths, "rescans": rescan_paths}[kind]
    for merged in paths(main_job_run.out):
        per_boot = [pyperf.BenchmarkSuite.load(str(main_job_run.out / boot / merged.name)) for boot in BOOT_DIRS]
        suite = pyperf.BenchmarkSuite.load(str(merged))
        assert suite.get_benchmark_names() == per_boot[0].get_benchmark_names()
        for bench in suite.get_benchmarks():
            boots = [b.get_benchmark(bench.get_name()) for b in per_boot]
            assert runs.sessions(bench) == [s for b in boots for s in runs.sessions(b)]
            assert len(set(runs.sessions(bench))) == MAIN_JOB_BOOTS
            assert bench.get_nrun() == sum(b.get_nrun() for b in boots)


def test_the_headline_gives_one_line_per_target_with_its_interval(main_job_run: MainJob) -> None:
    printed = "\n".join(main_job_run.printed)
    host_bridge = [line for line in main_job_run.printed if line.startswith("00:00.0+0x000: ")]
    assert len(host_bridge) == 1
    assert "mmio " in host_bridge[0] and " than pio (95% CI " in host_bridge[0]
    assert "per run " in host_bridge[0]  # one ratio per boot
    assert "one boot: " not in printed  # two boots: the interval spans them
    assert "under TCG these are QEMU's emulation costs" in printed
    assert printed.splitlines()[-1].startswith("lab: q35 guest (2 vCPUs) under tcg") and f"{MAIN_JOB_BOOTS} boot(s)" in printed


def test_the_lab_answers_with_the_rescan_and_the_census(main_job_run: MainJob) -> None:
    rescan = [line for line in main_job_run.printed if line.startswith("rescan of ")]
    census = [line for line in main_job_run.printed if line.startswith("census (QEMU): ")]
    assert len(rescan) == len(census) == 1, main_job_run.printed
    assert "type 1 first took " in rescan[0] and "x ECAM only (95% CI " in rescan[0]
    assert "x, inside the interval, from " in rescan[0] or "x, OUTSIDE the interval, from " in rescan[0]
    # without --in-situ: reads priced at one register (hot), writes as reads, and the line says so
    assert "type 1 reads at " in rescan[0] and "hot: read 01:00.0+0x000/4)" in rescan[0]
    assert "(assumed: as a read; cfgbench lab --in-situ times them)" in rescan[0]
    assert f"{MAIN_JOB_BOOTS} runs of {AB_SETTINGS.values * MAIN_JOB_BOOTS} paired rounds in all" in rescan[0]
    assert census[0].endswith("the guest kernel's own count agrees"), census[0]
    recorded = json.loads((main_job_run.out / "census.json").read_text())["phases"]["boot"]
    assert f"the kernel's boot made {recorded['reads']:,} config reads ({recorded['accesses']['type1-read']:,} type 1)" \
        in census[0]  # the line says what the census file holds


def test_the_lab_says_where_the_time_goes(main_job_run: MainJob) -> None:
    printed = main_job_run.printed
    start = printed.index("where the time goes (medians per read; sum/full and net per paired round, with 95% intervals):")
    lines = printed[start + 1:]
    assert any(line.startswith("  pio 00:00.0+0x000: type 1 = address write (0xCF8) ") for line in lines)
    assert any(line.startswith("  mmio 01:00.0+0x100: ECAM = load (ECAM) ") for line in lines)
    assert any(line.startswith("  kernel 00:00.0+0x000: kernel (type 1) = ") and " floor = " in line for line in lines)
    assert not any(line.startswith("split ") for line in printed[:start])  # the headline leaves them out


def test_type1_is_slower_than_ecam_under_tcg(main_job_run: MainJob) -> None:
    # Two port accesses (0xCF8 then 0xCFC) against one load: true under TCG, whatever the noise.
    pio, mmio = (_bench(main_job_run.out / f"lab-{m}.json").median() for m in ("pio", "mmio"))
    assert pio > mmio


def test_a_run_in_the_lab_prints_host_paths_and_records_the_lab(default_boot: DefaultBoot) -> None:
    out = default_boot.part("run")
    assert (out / "rc").read_text() == "0\n", default_boot.result.output
    assert f"saved {out.resolve() / 'x-pio.json'}" in default_boot.result.output
    assert "/run/cfgbench/out" not in default_boot.result.output
    md = _bench(out / "x-mmio.json").get_metadata()
    assert md["cfgbench_lab_accel"] == "tcg" and md["cfgbench_lab_host_cpu"]
    assert "00:00.0+0x000: mmio " in default_boot.result.output and "paired rounds" in default_boot.result.output
    # The cold pattern where raw access runs: every read a new function (a new ECAM page), against its hot partner.
    assert "peer-probe 00-ff, per read, against one of" in default_boot.result.output
