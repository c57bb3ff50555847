"""Hostile environments, made real in lab guests: no CAP_SYS_RAWIO, not root,
/dev/mem blocked by STRICT_DEVMEM (no iomem=relaxed), kernel lockdown, a
target outside every ECAM window, a device that does not exist. Each must be
one line on stderr naming the cause and the fix, exit code 2, no traceback.

The first four and the last two run in the shared default guest
(shared_boots.HOSTILE); STRICT_DEVMEM and lockdown need a kernel command line
of their own, so each boots once, one after the other."""

from __future__ import annotations

from pathlib import Path

import pytest

from cfgbench.lab.guest import GuestConfig, run_in_guest

from .shared_boots import HOSTILE, READ, Case, DefaultBoot, cases_script

pytestmark = pytest.mark.lab

OWN_BOOTS = {
    "strict-devmem": (GuestConfig(accel="tcg", timeout_s=240, relaxed_iomem=False), (
        Case("mmio-strict-devmem", f"{READ} mmio 00:00.0 0", ("refused to map", "iomem=relaxed")),
    )),
    "lockdown": (GuestConfig(accel="tcg", timeout_s=240, extra_cmdline=("lockdown=integrity",)), (
        Case("pio-lockdown", f"{READ} pio 00:00.0 0", ("0xCF8", "lockdown")),
        Case("mmio-lockdown", f"{READ} mmio 00:00.0 0", ("/dev/mem", "lockdown")),
    )),
}
ALL_CASES = [*HOSTILE, *(case for _, cases in OWN_BOOTS.values() for case in cases)]


@pytest.fixture(scope="module")
def outcomes(default_boot: DefaultBoot, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Where each case left its files."""
    where = {case.name: default_boot.part("hostile") for case in HOSTILE}
    for name, (cfg, cases) in OWN_BOOTS.items():
        outdir = tmp_path_factory.mktemp(f"hostile-{name}")
        result = run_in_guest(["sh", "-c", cases_script(cases)], cfg, outdir=outdir)
        assert result.returncode == 0, (name, result.output)
        where.update({case.name: outdir for case in cases})
    return where


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda case: case.name)
def test_hostile_environment_is_one_clear_line(outcomes: dict[str, Path], case: Case) -> None:
    out = outcomes[case.name]
    rc = int((out / f"{case.name}.rc").read_text())
    stderr = (out / f"{case.name}.err").read_text()
    lines = stderr.strip().splitlines()
    assert rc == 2, (rc, stderr)
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    for needle in case.needles:
        assert needle in lines[0], lines[0]
    assert (out / f"{case.name}.out").read_text() == ""
