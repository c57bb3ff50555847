"""Test-wide guard: no test may reach this machine's ports or /dev/mem.

CFGBENCH_FORBID_RAW makes the pio and mmio methods refuse before any ioperm,
iopl or /dev/mem access; it is inherited by every cfgbench process a test
starts. Only commands run inside the QEMU lab guest drop it. Behind it, in
this process, an audit hook refuses any open of /dev/mem or /dev/port: a test
that lifts the variable to open a raw method over an ordinary file
(test_ecam_mapping.py) cannot reach the real ones by mistake.

Also: a suite started in the background of a script (`pytest &`, nohup)
inherits SIGINT ignored, and every process it starts would too, so the
Ctrl-C tests would time a run that cannot be interrupted. Ctrl-C gets its
default meaning back here, whoever started the suite."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from cfgbench.access.base import FORBID_RAW_ENV
from cfgbench.access.fake import FAKE_DUMP_ENV

from cli_helpers import HOST_DUMP
from devicehook import RAW_DEVICES, refusing


os.environ[FORBID_RAW_ENV] = "1"
sys.addaudithook(refusing(RAW_DEVICES))
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _forbid_raw(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FORBID_RAW_ENV, "1")


@pytest.fixture
def fake_dump(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(FAKE_DUMP_ENV, str(HOST_DUMP))
    return HOST_DUMP


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    fuzz = sys.modules.get("test_fuzz_cli")
    if fuzz is not None and fuzz.CALLS:
        terminalreporter.write_line(fuzz.summary())
