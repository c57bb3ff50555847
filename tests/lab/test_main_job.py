"""The lab's main job end to end: one guest boot times pio, mmio and kernel, interleaved."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pyperf
import pytest

from cfgbench import access, runs
from cfgbench.errors import CfgbenchError
from cfgbench.lab import GuestConfig, run_in_guest
from cfgbench.lab.mainjob import LabJob, main_job, result_paths
from cfgbench.settings import PRESETS

pytestmark = pytest.mark.lab

HOST_BRIDGE = "read 0000:00:00.0+0x000/4"
ROUNDS = 8  # behaviour, not figures: benchmarks/ and results/ measure


@pytest.fixture(scope="module")
def lab_run(lab_installed: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    outdir = tmp_path_factory.mktemp("lab-results")
    guest_output: list[str] = []
    printed: list[str] = []
    try:
        main_job(GuestConfig(accel="tcg", timeout_s=240), lambda line: guest_output.append(f"{line}\n"), outdir,
                 output=guest_output.append, job=LabJob(replace(PRESETS["lab"], values=ROUNDS)), say=printed.append)
    except CfgbenchError as exc:
        pytest.fail(f"{exc.one_line()}\n--- guest output ---\n{''.join(guest_output)}")
    return outdir, "\n".join(printed)


def _bench(path: Path, name: str = HOST_BRIDGE) -> pyperf.Benchmark:
    return pyperf.BenchmarkSuite.load(str(path)).get_benchmark(name)


def test_every_method_wrote_results_that_pyperf_compares(lab_run: tuple[Path, str]) -> None:
    paths = result_paths(lab_run[0])
    assert [p.name for p in paths] == [f"lab-{m}.json" for m in access.user_methods()] == \
        ["lab-pio.json", "lab-mmio.json", "lab-kernel.json"]
    completed = subprocess.run([sys.executable, "-m", "pyperf", "compare_to", *map(str, paths)],
                               capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr


def test_results_record_the_lab_and_its_physical_host(lab_run: tuple[Path, str]) -> None:
    for path in result_paths(lab_run[0]):
        metadata = _bench(path).get_metadata()
        assert metadata["cfgbench_lab_accel"] == "tcg"
        assert metadata["cfgbench_lab_machine"] == "q35"
        assert "iomem=relaxed" in metadata["cfgbench_lab_cmdline"]
        assert metadata["cfgbench_lab_host_kernel"] != metadata["cfgbench_lab_kernel"]  # the host's, not the guest's
        assert metadata["cfgbench_lab_host_cpu"] and metadata["cfgbench_lab_host"]


def test_the_methods_were_interleaved_in_one_session(lab_run: tuple[Path, str]) -> None:
    benches = [_bench(path) for path in result_paths(lab_run[0])]
    assert len({s for b in benches for s in runs.sessions(b)}) == 1
    for bench in benches:
        assert [r.rounds for r in runs.run_records(bench)] == [tuple(range(ROUNDS))]
        assert bench.get_metadata()["cfgbench_schedule"] == "interleaved"


def test_the_headline_gives_one_line_per_target_with_its_interval(lab_run: tuple[Path, str]) -> None:
    printed = lab_run[1]
    host_bridge = [line for line in printed.splitlines() if line.startswith("00:00.0+0x000: ")]
    assert len(host_bridge) == 1
    assert "mmio " in host_bridge[0] and " than pio (95% CI " in host_bridge[0]
    assert f"{ROUNDS} paired rounds" in host_bridge[0]
    assert "one boot: " in printed and "under TCG these are QEMU's emulation costs" in printed


def test_the_lab_says_where_the_time_goes(lab_run: tuple[Path, str]) -> None:
    printed = lab_run[1].splitlines()
    start = printed.index("where the time goes (medians per read; sum/full and net per paired round, with 95% intervals):")
    lines = printed[start + 1:]
    assert any(line.startswith("  pio 00:00.0+0x000: type 1 = address write (0xCF8) ") for line in lines)
    assert any(line.startswith("  mmio 01:00.0+0x100: ECAM = load (ECAM) ") for line in lines)
    assert any(line.startswith("  kernel 00:00.0+0x000: kernel = ") and " floor = " in line for line in lines)
    assert not any(line.startswith("split ") for line in printed[:start])  # the headline leaves them out


def test_type1_is_slower_than_ecam_under_tcg(lab_run: tuple[Path, str]) -> None:
    # Two port accesses (0xCF8 then 0xCFC) against one load: true under TCG, whatever the noise.
    pio, mmio = (_bench(lab_run[0] / f"lab-{m}.json").median() for m in ("pio", "mmio"))
    assert pio > mmio


def test_a_run_in_the_lab_prints_host_paths_and_records_the_lab(lab_installed: None, tmp_path: Path) -> None:
    command = ["cfgbench", "run", "-m", "pio", "-m", "mmio", "--in-process", "--values", "6", "--loops", "4096",
               "-o", "/run/cfgbench/out/x-{method}.json"]
    result = run_in_guest(["sh", "-c", " ".join(command).replace("/run/cfgbench/out", "$CFGBENCH_LAB_OUT")],
                          GuestConfig(accel="tcg", timeout_s=180), outdir=tmp_path)
    assert result.returncode == 0, result.output
    assert f"saved {tmp_path.resolve() / 'x-pio.json'}" in result.output
    assert "/run/cfgbench/out" not in result.output
    md = _bench(tmp_path / "x-mmio.json").get_metadata()
    assert md["cfgbench_lab_accel"] == "tcg" and md["cfgbench_lab_host_cpu"]
    assert "00:00.0+0x000: mmio " in result.output and "paired rounds" in result.output
