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
from labboots import BOOTED, WORKER_COUNTS, WORKER_KEY


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


# Its guest runs one Python process after another, on one vCPU: the lab test that suffers
# least from the unit tests running beside it, so it goes while they run (scripts/test.sh).
OVERLAPS_THE_UNIT_TESTS = "tests/lab/test_workflow_e2e.py::"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(OVERLAPS_THE_UNIT_TESTS))  # stable


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Under xdist (scripts/test.sh: -n auto) every test in tests/lab/ goes to one worker, so
    guests still boot one at a time and share their boots (shared_boots.py); the other workers
    run the unit tests, a module at a time, on the cores a single-threaded TCG guest leaves idle.
    (A scheduler of our own: `--dist loadgroup` does not group under pytest 9.2, whose items
    no longer take xdist's renamed node ids.)"""
    from xdist.scheduler import LoadScopeScheduling

    class LabOnOneWorker(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "tests/lab" if nodeid.startswith("tests/lab/") else super()._split_scope(nodeid)

    return LabOnOneWorker(config, log)  # type: ignore[arg-type]


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: report to the controller
        workeroutput[WORKER_KEY] = len(BOOTED)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    WORKER_COUNTS.append(getattr(node, "workeroutput", {}).get(WORKER_KEY, 0))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    booted = len(BOOTED) + sum(WORKER_COUNTS)
    if booted:
        terminalreporter.write_line(f"lab guests booted by this test run: {booted}")

