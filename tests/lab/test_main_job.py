"""The lab's main job end to end: one guest boot times pio, mmio and kernel."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyperf
import pytest

from cfgbench.errors import CfgbenchError
from cfgbench.lab import GuestConfig
from cfgbench.lab.measure import METHODS, main_job, result_paths

pytestmark = pytest.mark.lab

HOST_BRIDGE = "read 0000:00:00.0+0x000/4"


@pytest.fixture(scope="module")
def lab_results(lab_installed: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("lab-results")
    guest_output: list[str] = []
    try:
        main_job(GuestConfig(accel="tcg", timeout_s=240), lambda line: guest_output.append(f"{line}\n"), outdir,
                 output=guest_output.append)
    except CfgbenchError as exc:
        pytest.fail(f"{exc.one_line()}\n--- guest output ---\n{''.join(guest_output)}")
    return outdir


def _mean(path: Path, name: str) -> float:
    suite = pyperf.BenchmarkSuite.load(str(path))
    return suite.get_benchmark(name).mean()


def test_every_method_wrote_results_that_pyperf_compares(lab_results: Path) -> None:
    paths = result_paths(lab_results)
    assert [p.name for p in paths] == [f"lab-{m}.json" for m in METHODS]
    completed = subprocess.run([sys.executable, "-m", "pyperf", "compare_to", *map(str, paths)],
                               capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr


def test_results_record_the_lab(lab_results: Path) -> None:
    for path in result_paths(lab_results):
        metadata = pyperf.BenchmarkSuite.load(str(path)).get_benchmark(HOST_BRIDGE).get_metadata()
        assert metadata["cfgbench_lab_accel"] == "tcg"
        assert metadata["cfgbench_lab_machine"] == "q35"
        assert "iomem=relaxed" in metadata["cfgbench_lab_cmdline"]


def test_type1_is_slower_than_ecam_under_tcg(lab_results: Path) -> None:
    # Two port accesses (0xCF8 then 0xCFC) against one load: true under TCG, whatever the noise.
    pio, mmio = (_mean(lab_results / f"lab-{m}.json", HOST_BRIDGE) for m in ("pio", "mmio"))
    assert pio > mmio
