"""Error paths of the lab that boot a guest: a hung guest or a Ctrl-C leaves no
QEMU process and no temporary directory behind. (The ones that need no guest
are in tests/test_lab_errors.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from cfgbench.errors import LabError
from cfgbench.lab.guest import GuestConfig, run_in_guest
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
