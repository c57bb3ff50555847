"""Lab tests boot QEMU guests, one at a time; they skip when the lab is not installed, except in CI.
The default guest and the main job are booted once and shared (shared_boots.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from cfgbench.errors import LabError
from cfgbench.lab.initramfs import find_busybox
from cfgbench.lab.kernel import find_kernel
from cfgbench.lab.qemu import find_qemu

from .shared_boots import DefaultBoot, MainJob, boot_default, run_main_job


def lab_missing() -> str | None:
    """Why the lab cannot boot here, or None."""
    try:
        find_qemu()
        find_kernel()
        find_busybox()
    except LabError as exc:
        return exc.one_line()
    return None


@pytest.fixture(scope="session")
def lab_installed() -> None:
    reason = lab_missing()
    if reason is None:
        return
    # CI installs the lab (scripts/setup-lab.sh): a missing piece there is a failure.
    if os.environ.get("CI") == "true":
        pytest.fail(f"the guest lab must run in CI: {reason}")
    pytest.skip(f"guest lab not installed: {reason}")


@pytest.fixture(scope="session")
def default_boot(lab_installed: None, tmp_path_factory: pytest.TempPathFactory) -> DefaultBoot:
    """One default guest for every check that needs nothing else (shared_boots.PARTS)."""
    return boot_default(tmp_path_factory.mktemp("default-boot"))


@pytest.fixture(scope="session")
def main_job_run(lab_installed: None, tmp_path_factory: pytest.TempPathFactory) -> MainJob:
    """The lab's main job, two timing boots and the census boot, for its tests and the split's."""
    return run_main_job(tmp_path_factory.mktemp("main-job"))


BOOTED: list[str] = []  # one entry per QEMU command line built in this process


@pytest.fixture(scope="session", autouse=True)
def _count_boots() -> Iterator[None]:
    """Counts the guests the suite boots (a Ctrl-C test's `cfgbench lab` runs in a process of its own)."""
    from cfgbench.lab import guest

    built = guest.qemu_command

    def counted(*args: object, **kwargs: object) -> list[str]:
        BOOTED.append(str(kwargs.get("tree", "default")))
        return built(*args, **kwargs)  # type: ignore[arg-type]

    guest.qemu_command = counted  # type: ignore[assignment]
    yield
    guest.qemu_command = built


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if BOOTED:
        terminalreporter.write_line(f"lab guests booted by this process: {len(BOOTED)}")
