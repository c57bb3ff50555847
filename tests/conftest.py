"""Test-wide guard: no test may reach this machine's ports or /dev/mem.

CFGBENCH_FORBID_RAW makes the pio and mmio methods refuse before any ioperm,
iopl or /dev/mem access; it is inherited by every cfgbench process a test
starts. Only commands run inside the QEMU lab guest drop it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cfgbench.access.base import FORBID_RAW_ENV
from cfgbench.access.fake import FAKE_DUMP_ENV

from cli_helpers import HOST_DUMP


os.environ[FORBID_RAW_ENV] = "1"


@pytest.fixture(autouse=True)
def _forbid_raw(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FORBID_RAW_ENV, "1")


@pytest.fixture
def fake_dump(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(FAKE_DUMP_ENV, str(HOST_DUMP))
    return HOST_DUMP
