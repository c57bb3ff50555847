"""Lab tests boot QEMU guests; they skip when the lab is not installed, except in CI."""

from __future__ import annotations

import os

import pytest

from cfgbench.lab import LabError
from cfgbench.lab.initramfs import find_busybox
from cfgbench.lab.kernel import find_kernel
from cfgbench.lab.qemu import find_qemu


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
