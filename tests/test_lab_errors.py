"""The lab's error paths that need no guest: missing pieces fail fast with the
setup command, accelerators are chosen and refused, and the guest's
environment drops the raw-access guard and carries the lab's record.
(tests/lab/test_errors.py boots guests for a hung guest and for Ctrl-C.)"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import pytest

from cfgbench.errors import LabError, SETUP_FIX
from cfgbench.lab.guest import GuestConfig, run_in_guest
from cfgbench.lab import guest, qemu
from cfgbench import platform
from cfgbench.lab.initramfs import command_script
from cfgbench.lab.kernel import find_kernel
from cfgbench.schema import ENVIRONMENT_FIELDS, LAB_ACCEL, LAB_CMDLINE, LAB_HOST_KERNEL, LAB_KERNEL, LAB_TREE


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
    """Fast means before any QEMU is looked for or started (an event, not a
    clock: benchmarks/lab_refusal.py times it)."""
    if qemu.kvm_problem() is None:
        # Hardware virtualisation here: pretend it is missing to check the refusal itself.
        monkeypatch.setattr(qemu, "kvm_problem", lambda: "the CPU flags have neither vmx nor svm")
    monkeypatch.setattr(guest, "find_qemu", lambda: pytest.fail("kvm must be refused before looking for QEMU"))
    with pytest.raises(LabError) as excinfo:
        run_in_guest(["true"], GuestConfig(accel="kvm"))
    assert "kvm" in excinfo.value.cause
    assert "tcg" in excinfo.value.fix


def test_guest_environment_drops_the_raw_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CFGBENCH_FORBID_RAW", "1")
    env = guest.guest_environment({"CFGBENCH_FORBID_RAW": "1", "EXTRA": "x"}, {"CFGBENCH_LAB_OUT": "/out"})
    assert "CFGBENCH_FORBID_RAW" not in env
    assert env["EXTRA"] == "x"
    assert env["CFGBENCH_LAB_OUT"] == "/out"
    assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)


def test_the_lab_record_crosses_to_the_guest_as_one_json_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """One variable whose keys are schema.py's own: what the guest's `cfgbench run` records, with its kernel's."""
    record = guest.lab_record(GuestConfig(), "tcg", "8.2.2")
    env = guest.guest_environment(None, {platform.LAB_VAR: json.dumps(record)})
    [assignment] = [word for word in shlex.split(command_script(["true"], env, "/"))
                    if word.startswith(f"{platform.LAB_VAR}=")]
    monkeypatch.setenv(platform.LAB_VAR, assignment.partition("=")[2])
    recorded = platform.lab_metadata()
    assert recorded.items() >= record.items() and set(recorded) == {*record, LAB_KERNEL, LAB_CMDLINE}
    assert recorded[LAB_ACCEL] == "tcg" and recorded[LAB_TREE] == "default"
    assert recorded[LAB_HOST_KERNEL] == os.uname().release  # the host's, as the host saw it
    assert {f.key for f in ENVIRONMENT_FIELDS if f.key.startswith("cfgbench_lab_")} <= set(recorded)
    monkeypatch.delenv(platform.LAB_VAR)
    assert platform.lab_metadata() == {} and not platform.in_lab_guest()
