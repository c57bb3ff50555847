"""Error paths of the lab: missing pieces fail fast with the setup command; a hung guest
or a Ctrl-C leaves no QEMU process and no temporary directory behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from cfgbench.lab import SETUP_FIX, GuestConfig, LabError, run_in_guest
from cfgbench.lab import guest, qemu
from cfgbench.lab.kernel import find_kernel


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(os.getpid()):
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline and "qemu" in cmdline:
                found.append(f"{entry.name}: {cmdline[:200]}")
    return found


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The lab's temp dirs go here, so leftovers (and QEMUs using them) can be found."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    return tmp_path


def _assert_nothing_left(tmp: Path) -> None:
    assert not list(tmp.glob("cfgbench-lab-*")), "temporary directory left behind"
    assert not _processes_mentioning(str(tmp)), "QEMU process left behind"


def test_missing_kernel_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guest, "find_qemu", lambda: Path("/nonexistent/qemu"))
    with pytest.raises(LabError) as excinfo:
        run_in_guest(["true"], GuestConfig(kernel=tmp_path / "vmlinux-missing"))
    assert "vmlinux-missing" in excinfo.value.cause
    assert SETUP_FIX in excinfo.value.fix


def test_empty_kernel_cache_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CFGBENCH_LAB_CACHE", str(tmp_path))
    with pytest.raises(LabError) as excinfo:
        find_kernel()
    assert excinfo.value.fix == SETUP_FIX
    assert str(tmp_path) in excinfo.value.cause


def test_missing_qemu_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LabError) as excinfo:
        run_in_guest(["true"], GuestConfig(accel="tcg"))
    assert qemu.QEMU_BINARY in excinfo.value.cause
    assert excinfo.value.fix == SETUP_FIX
    assert excinfo.value.one_line().count("\n") == 0


@pytest.mark.parametrize(("problem", "requested", "chosen"), [
    ("no vmx", "auto", "tcg"), (None, "auto", "kvm"), ("no vmx", "tcg", "tcg"), (None, "kvm", "kvm"),
])
def test_accel_choice(monkeypatch: pytest.MonkeyPatch, problem: str | None, requested: str, chosen: str) -> None:
    monkeypatch.setattr(qemu, "kvm_problem", lambda: problem)
    assert qemu.choose_accel(requested) == chosen


def test_unknown_accel_is_refused() -> None:
    with pytest.raises(LabError, match="unknown accelerator"):
        qemu.choose_accel("hvf")


def test_explicit_kvm_that_cannot_work_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    if qemu.kvm_problem() is None:
        # Hardware virtualisation here: pretend it is missing to check the refusal itself.
        monkeypatch.setattr(qemu, "kvm_problem", lambda: "the CPU flags have neither vmx nor svm")
    monkeypatch.setattr(guest, "find_qemu", lambda: pytest.fail("kvm must be refused before looking for QEMU"))
    started = time.monotonic()
    with pytest.raises(LabError) as excinfo:
        run_in_guest(["true"], GuestConfig(accel="kvm"))
    assert time.monotonic() - started < 1
    assert "kvm" in excinfo.value.cause
    assert "tcg" in excinfo.value.fix


def test_guest_environment_drops_the_raw_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CFGBENCH_FORBID_RAW", "1")
    env = guest.guest_environment({"CFGBENCH_FORBID_RAW": "1", "EXTRA": "x"}, {"CFGBENCH_LAB_OUT": "/out"})
    assert "CFGBENCH_FORBID_RAW" not in env
    assert env["EXTRA"] == "x"
    assert env["CFGBENCH_LAB_OUT"] == "/out"
    assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)


@pytest.mark.lab
def test_hung_guest_is_killed_after_the_timeout(lab_installed: None, private_tmp: Path) -> None:
    started = time.monotonic()
    with pytest.raises(LabError) as excinfo:
        run_in_guest(["sleep", "1000"], GuestConfig(accel="tcg", timeout_s=5))
    elapsed = time.monotonic() - started
    assert "5 s" in excinfo.value.cause and "killed" in excinfo.value.cause
    assert elapsed < 12
    _assert_nothing_left(private_tmp)


@pytest.mark.lab
def test_ctrl_c_leaves_no_qemu_and_no_temp_dir(lab_installed: None, private_tmp: Path) -> None:
    # The real thing: SIGINT to `cfgbench lab -- sleep 1000` once the guest is up.
    command = [sys.executable, "-m", "cfgbench", "lab", "--accel", "tcg", "--", "sleep", "1000"]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env={**os.environ, "TMPDIR": str(private_tmp)})
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "guest up" in line:
                break
        assert _processes_mentioning(str(private_tmp)), "QEMU should be running now"
        proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read()
        assert proc.wait(timeout=20) == 130, rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _assert_nothing_left(private_tmp)


@pytest.mark.lab
def test_kernel_without_9p_modules_fails_with_the_guest_reason(lab_installed: None, tmp_path: Path) -> None:
    # Same kernel, but no lib/modules beside it: the init cannot mount the host root.
    image = find_kernel().image
    (tmp_path / "boot").mkdir()
    alone = tmp_path / "boot" / image.name
    alone.symlink_to(image)
    if find_kernel(alone).modules_dir is not None:
        pytest.skip("this host has the kernel's modules in /lib/modules")
    with pytest.raises(LabError) as excinfo:
        run_in_guest(["true"], GuestConfig(accel="tcg", kernel=alone, timeout_s=60))
    assert "guest setup failed: mounting the host root over 9p" in excinfo.value.cause
    assert "--kernel" in excinfo.value.fix
