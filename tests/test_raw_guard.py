"""The guard that keeps tests off this machine's hardware must itself work.

Nothing here reaches ports or /dev/mem: the raw accessors are refused by
CFGBENCH_FORBID_RAW (set by conftest) or stopped before any port call, and
portio and os.open are booby-trapped in case a refusal ever breaks. Raw reads
happen only in the QEMU lab guest (tests/lab) or on the fake backend."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cfgbench import access, engine, runs
from cfgbench.access.base import FORBID_RAW_ENV
from cfgbench.access.ecam import EcamAccessor
from cfgbench.access.pio import PioAccessor
from cfgbench.errors import CfgbenchError
from cfgbench.plan import BenchSpec, Plan, ReadSpec
from cfgbench.settings import Settings
from rawdouble import GuardedRawDump, sitecustomize_for


def test_raw_methods_refuse_before_touching_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    import portio

    def forbidden(*args: object) -> int:
        raise AssertionError("ioperm/iopl reached with the guard set")

    monkeypatch.setattr(portio, "ioperm", forbidden)
    monkeypatch.setattr(portio, "iopl", forbidden)
    monkeypatch.setattr("os.open", forbidden)
    for accessor in (PioAccessor(), EcamAccessor()):
        with pytest.raises(CfgbenchError, match="forbidden in this environment"):
            accessor.open()


def test_detect_does_not_touch_hardware(monkeypatch: pytest.MonkeyPatch) -> None:
    import portio

    def forbidden(*args: object) -> int:
        raise AssertionError("detect() must stay quiet")

    monkeypatch.setattr(portio, "ioperm", forbidden)
    monkeypatch.setattr(portio, "iopl", forbidden)
    for accessor in (PioAccessor(), EcamAccessor()):
        assert accessor.detect().reason


def test_a_non_x86_machine_gets_a_clear_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    """pio exists only on x86: detect says so and open refuses before any port
    access (the port calls are booby-trapped in case the refusal ever breaks)."""
    import portio

    def forbidden(*args: object) -> int:
        raise AssertionError("port permission requested on a 'non-x86' machine")

    monkeypatch.setattr(portio, "ioperm", forbidden)
    monkeypatch.setattr(portio, "iopl", forbidden)
    monkeypatch.setattr("cfgbench.access.pio.is_x86", lambda: False)
    detection = PioAccessor().detect()
    assert not detection.ok and "only on x86" in detection.reason and "--method=mmio" in detection.fix
    with pytest.raises(CfgbenchError, match="only on x86"):
        PioAccessor()._open()


AS_IF_NULL_WERE_RAW = """
import os, sys
sys.path.insert(0, sys.argv[1])
from devicehook import refusing
sys.addaudithook(refusing(frozenset({(os.major(os.stat(os.devnull).st_rdev), os.minor(os.stat(os.devnull).st_rdev))})))
refused = []
for attempt in (lambda: open(os.devnull, "rb"), lambda: os.open(sys.argv[2], os.O_RDONLY), lambda: open(sys.argv[3])):
    try:
        attempt()
        refused.append(False)
    except PermissionError:
        refused.append(True)
print(refused)
"""


def test_the_suites_audit_hook_refuses_a_device_by_its_numbers(tmp_path: Path) -> None:
    """The hook conftest installs against /dev/mem and /dev/port, shown on
    /dev/null instead (opening the real ones is what it exists to prevent): the
    device itself and a symlink to it are refused, an ordinary file is not."""
    link, plain = tmp_path / "null-by-another-name", tmp_path / "plain"
    link.symlink_to(os.devnull)
    plain.write_text("x")
    done = subprocess.run([sys.executable, "-c", AS_IF_NULL_WERE_RAW, str(Path(__file__).parent), str(link), str(plain)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[True, True, False]"


def test_a_worker_process_refuses_a_raw_method_because_the_guard_reached_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], fake_dump: Path) -> None:
    """The engine's workers (`python -m cfgbench.engine`, started by
    the engine itself) inherit CFGBENCH_FORBID_RAW: one asked to time a raw method
    refuses to open it, and says so. The method is a double over the fake
    dump that keeps the guard (tests/rawdouble.py), made known to the worker
    by a sitecustomize on PYTHONPATH; without the variable the same worker
    times it, so the refusal is the guard's."""
    site = sitecustomize_for(tmp_path / "site")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])))
    monkeypatch.setitem(access.METHODS, GuardedRawDump.name, GuardedRawDump)
    target = "0000:00:00.0+0x000/4"
    plan = Plan([BenchSpec(GuardedRawDump.name, "read", target, [ReadSpec("0000:00:00.0", 0, 4, 0x0D578086)])])
    settings = Settings(processes=1, values=2, warmups=0, loops=64, samples=0, schedule="sequential", quiet=True)
    (tmp_path / "refused").mkdir()
    with pytest.raises(CfgbenchError, match=r"worker process 1 failed \(exit code 2\)"):
        engine.time_plan(plan, settings, tmp_path / "refused")
    assert ("cfgbench worker: error: raw method rawdump-guarded is forbidden in this environment "
            "(CFGBENCH_FORBID_RAW is set)") in capfd.readouterr().err
    monkeypatch.delenv(FORBID_RAW_ENV)
    (tmp_path / "timed").mkdir()
    [bench] = engine.time_plan(plan, settings, tmp_path / "timed").get_benchmarks()
    assert bench.get_nvalue() == 2 and runs.totals(bench).mismatches == 0
