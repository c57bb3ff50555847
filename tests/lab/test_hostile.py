"""Hostile environments, made real in lab guests: no CAP_SYS_RAWIO, not root,
/dev/mem blocked by STRICT_DEVMEM (no iomem=relaxed), kernel lockdown, a
target outside every ECAM window, a device that does not exist. Each must be
one line on stderr naming the cause and the fix, exit code 2, no traceback."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from cfgbench.lab import GuestConfig, run_in_guest

pytestmark = pytest.mark.lab

# Each case: a name, the command line, and what its one stderr line must say.
NO_RAWIO = "setpriv --inh-caps=-sys_rawio --bounding-set=-sys_rawio"
# A normal user who may still read the root-only Python install (the host's /root is 0700).
NOT_ROOT = ("setpriv --reuid=65534 --regid=65534 --clear-groups "
            "--inh-caps=+dac_read_search --ambient-caps=+dac_read_search")
READ = "cfgbench read -m"


@dataclass(frozen=True)
class Case:
    name: str
    command: str
    needles: tuple[str, ...]


DEFAULT_BOOT = (
    Case("pio-without-rawio", f"{NO_RAWIO} {READ} pio 00:00.0 0", ("0xCF8", "CAP_SYS_RAWIO")),
    Case("mmio-without-rawio", f"{NO_RAWIO} {READ} mmio 00:00.0 0", ("/dev/mem", "CAP_SYS_RAWIO")),
    Case("pio-not-root", f"{NOT_ROOT} {READ} pio 00:00.0 0", ("0xCF8", "run as root")),
    Case("mmio-not-root", f"{NOT_ROOT} {READ} mmio 00:00.0 0", ("/dev/mem", "run as root")),
    Case("outside-every-window", "cfgbench run -m mmio -d 0001:00:00.0 -q", ("outside every ECAM window", "--method=kernel")),
    Case("absent-device", "cfgbench run -m pio -d 00:1f.7 -q", ("no PCI function 0000:00:1f.7", "cfgbench list")),
)
STRICT_DEVMEM_BOOT = (
    Case("mmio-strict-devmem", f"{READ} mmio 00:00.0 0", ("refused to map", "iomem=relaxed")),
)
LOCKDOWN_BOOT = (
    Case("pio-lockdown", f"{READ} pio 00:00.0 0", ("0xCF8", "lockdown")),
    Case("mmio-lockdown", f"{READ} mmio 00:00.0 0", ("/dev/mem", "lockdown")),
)


def script(cases: tuple[Case, ...]) -> str:
    lines = ['out=$CFGBENCH_LAB_OUT']
    for case in cases:
        lines.append(f'{case.command} >"$out/{case.name}.out" 2>"$out/{case.name}.err"; echo $? >"$out/{case.name}.rc"')
    return "\n".join(lines)


BOOTS = {
    "default": (GuestConfig(accel="tcg", timeout_s=240), DEFAULT_BOOT),
    "strict-devmem": (GuestConfig(accel="tcg", timeout_s=240, relaxed_iomem=False), STRICT_DEVMEM_BOOT),
    "lockdown": (GuestConfig(accel="tcg", timeout_s=240, extra_cmdline=("lockdown=integrity",)), LOCKDOWN_BOOT),
}


@pytest.fixture(scope="module")
def outcomes(lab_installed: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every case's files, from three guests booted side by side."""
    dirs = {name: tmp_path_factory.mktemp(f"hostile-{name}") for name in BOOTS}
    with ThreadPoolExecutor(max_workers=len(BOOTS)) as pool:
        runs = {name: pool.submit(run_in_guest, ["sh", "-c", script(cases)], cfg, outdir=dirs[name])
                for name, (cfg, cases) in BOOTS.items()}
        for name, run in runs.items():
            result = run.result()
            assert result.returncode == 0, (name, result.output)
    return {case.name: dirs[name] for name, (_, cases) in BOOTS.items() for case in cases}


ALL_CASES = [case for _, cases in BOOTS.values() for case in cases]


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
