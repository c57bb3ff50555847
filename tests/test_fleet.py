"""cfgbench fleet: one table across runners, separating the mechanism (pio/mmio) from virtualisation (guest/bare metal)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cfgbench.history import fleet
from cfgbench.cli import history_cmds, main
from historyfiles import START, run_file
from resultfiles import BARE_METAL, HOST_BRIDGE, HOST_BRIDGE_EXT

AMD_METAL = BARE_METAL | {"cfgbench_cpu_model": "AMD EPYC 7763 64-Core Processor", "cfgbench_dmi_vendor": "Dell Inc."}
KVM_GUEST: dict[str, Any] = {
    "cfgbench_environment": "guest",
    "cfgbench_hypervisor": "KVMKVMKVM",
    "cfgbench_kernel_release": "6.8.0-45-generic",
    "cfgbench_cpu_model": "AMD EPYC 7763 64-Core Processor",
}
# Medians (seconds per read) by runner, method and target; pio cannot reach 0x100.
FIGURES = {
    "bm-intel": (BARE_METAL, {"pio": {HOST_BRIDGE: 433e-9}, "mmio": {HOST_BRIDGE: 269e-9, HOST_BRIDGE_EXT: 270e-9},
                              "kernel": {HOST_BRIDGE: 900e-9, HOST_BRIDGE_EXT: 880e-9}}),
    "bm-amd": (AMD_METAL, {"pio": {HOST_BRIDGE: 500e-9}, "mmio": {HOST_BRIDGE: 250e-9, HOST_BRIDGE_EXT: 250e-9},
                           "kernel": {HOST_BRIDGE: 1e-6, HOST_BRIDGE_EXT: 1e-6}}),
    "vm-kvm": (KVM_GUEST, {"pio": {HOST_BRIDGE: 28e-6}, "mmio": {HOST_BRIDGE: 16e-6, HOST_BRIDGE_EXT: 16e-6},
                           "kernel": {HOST_BRIDGE: 30e-6, HOST_BRIDGE_EXT: 17e-6}}),
}


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def artifacts(tmp_path: Path) -> list[Path]:
    """One directory per runner, as the workflow downloads them: pio.json, mmio.json, kernel.json."""
    dirs = []
    for runner, (env, methods) in FIGURES.items():
        directory = tmp_path / f"cfgbench-{runner}"
        directory.mkdir()
        for method, means in methods.items():
            # No run-to-run noise: the medians are the figures above, within the 1% of the values.
            run_file(directory / f"{method}.json", method, means, START, hostname=runner, env=env, run_noise=0.0)
        dirs.append(directory)
    return dirs


def test_medians_ratios_and_guest_factors(artifacts: list[Path]) -> None:
    report = fleet.fleet_report(artifacts)
    metal, amd, guest = report.environments
    assert [e.name for e in report.environments] == ["bm-intel", "bm-amd", "vm-kvm"]
    assert report.reference is metal  # the first bare-metal runner given
    assert report.targets == (HOST_BRIDGE, HOST_BRIDGE_EXT) and report.methods == ("pio", "mmio", "kernel")
    assert report.median(metal, HOST_BRIDGE, "pio") == pytest.approx(433e-9, rel=0.01)
    assert report.mechanism_ratio(metal, HOST_BRIDGE) == pytest.approx(433 / 269, rel=0.02)
    assert report.mechanism_ratio(amd, HOST_BRIDGE) == pytest.approx(2.0, rel=0.02)
    assert report.mechanism_ratio(guest, HOST_BRIDGE_EXT) is None  # no pio at 0x100
    assert report.guest_factor(guest, HOST_BRIDGE, "pio") == pytest.approx(28e-6 / 433e-9, rel=0.02)
    assert report.guest_factor(guest, HOST_BRIDGE_EXT, "mmio") == pytest.approx(16e-6 / 270e-9, rel=0.02)
    assert report.guest_factor(amd, HOST_BRIDGE, "pio") is None  # bare metal is not divided by bare metal
    other = fleet.fleet_report(artifacts, reference="bm-amd")
    assert other.guest_factor(other.environments[2], HOST_BRIDGE, "pio") == pytest.approx(56, rel=0.02)


def test_markdown_table_labels_environments_and_says_what_it_answers(artifacts: list[Path]) -> None:
    code, out, err = run_cli("fleet", *map(str, artifacts), "--format", "markdown")
    assert code == 0, err
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("| target"))
    assert header == ("| target | environment | where | pio | mmio | kernel | pio/mmio | pio guest/bare metal | "
                      "mmio guest/bare metal | kernel guest/bare metal |")
    rows = [line for line in lines if line.startswith(f"| {HOST_BRIDGE} ")]
    assert rows[0].startswith(f"| {HOST_BRIDGE} | bm-intel (reference) | bare metal · Intel(R) Xeon(R) Gold 6338")
    assert "| 1.61x |" in rows[0]
    assert rows[2].startswith(f"| {HOST_BRIDGE} | vm-kvm | guest (KVM) · AMD EPYC 7763")
    assert "| 64.7x |" in rows[2]  # 28 us over 433 ns
    ext = [line for line in lines if line.startswith(f"| {HOST_BRIDGE_EXT} ")]
    assert len(ext) == 3 and ext[0].split(" | ")[3] == ""  # no pio median where pio cannot reach
    sentence = [line for line in lines if line][-1]
    assert sentence.startswith("How much of a config read's cost is the mechanism and how much virtualisation")
    assert "on bm-intel (not bm-amd), the reference bare-metal machine" in sentence


def test_text_and_json(artifacts: list[Path]) -> None:
    code, text, _ = run_cli("fleet", *map(str, artifacts))
    assert code == 0 and "guest (KVM)" in text and "guest/bare metal is virtualisation" in text
    code, out, _ = run_cli("fleet", *map(str, artifacts), "--format", "json", "--reference", "cfgbench-bm-amd")
    data = json.loads(out)
    assert data["reference"] == "bm-amd"
    guest_row = next(r for r in data["rows"] if r["environment"] == "vm-kvm" and r["target"] == HOST_BRIDGE)
    assert guest_row["guest_over_bare_metal"]["pio"] == pytest.approx(56, rel=0.02)
    assert set(guest_row["medians"]) == {"pio", "mmio", "kernel"}


def test_without_bare_metal_there_is_no_factor(artifacts: list[Path]) -> None:
    report = fleet.fleet_report(artifacts[2:])
    assert report.reference is None and report.factor_methods == []
    assert "no bare-metal environment" in fleet.render_markdown(report)


@pytest.mark.parametrize(("reference", "needle"), [("vm-kvm", "is not bare metal"), ("bm-9", "is not among")])
def test_bad_reference(artifacts: list[Path], reference: str, needle: str) -> None:
    code, _, err = run_cli("fleet", *map(str, artifacts), "--reference", reference)
    assert code == 2 and needle in err and "bm-intel, bm-amd" in err


def test_bad_directories_are_one_line_errors(tmp_path: Path, artifacts: list[Path]) -> None:
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli("fleet", str(artifacts[0]), str(tmp_path / "empty"))
    assert code == 2 and "no result files" in err
    mixed = artifacts[0]
    run_file(mixed / "other-host.json", "pio", {HOST_BRIDGE_EXT: 1e-6}, START, hostname="elsewhere")
    code, _, err = run_cli("fleet", str(mixed))
    assert code == 2 and "holds runs of several hostnames" in err
    (mixed / "other-host.json").unlink()
    run_file(mixed / "pio-again.json", "pio", {HOST_BRIDGE: 1e-6}, START, hostname="bm-intel")
    code, _, err = run_cli("fleet", str(mixed))
    assert code == 2 and "twice" in err
    (mixed / "kernel.json").write_text("{")
    code, _, err = run_cli("fleet", str(mixed))
    assert code == 2 and "kernel.json is not valid JSON" in err and err.count("\n") == 1


def test_same_hostname_twice_is_told_apart_by_directory(artifacts: list[Path]) -> None:
    report = fleet.fleet_report([artifacts[0], artifacts[0]])
    assert [e.name for e in report.environments] == ["bm-intel (cfgbench-bm-intel)"] * 2


def test_cli_formats_match_the_renderers() -> None:
    assert set(history_cmds.FORMATS) == set(fleet.RENDERERS)
