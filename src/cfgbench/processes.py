"""Worker processes: in their own session, their output on our stderr, stopped as a group on an interruption."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence

from cfgbench.errors import CfgbenchError

STOP_GRACE_S = 5.0
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def run_worker_process(command: Sequence[str]) -> int:
    """Its exit code; no pipe for its output (a reader on the same CPU would skew the timing), and our environment,
    the test suite's raw-access guard with it."""
    try:
        stderr = sys.stderr.fileno()
    except (OSError, ValueError):
        stderr = 2  # a stand-in stderr (a test's capture): the process's own
    # An interruption inside Popen would leave the worker running unknown to us: noted, acted on with its pid.
    held: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _frame: held.append(signum)) for sig in STOP_SIGNALS}
    try:
        worker = subprocess.Popen(list(command), stdout=stderr, stdin=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        raise CfgbenchError(f"cannot start a worker process ({command[0]}: {exc.strerror or exc})",
                            "time in this process with --in-process, or run with a Python this user may execute") from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    try:
        if held:
            raise KeyboardInterrupt
        return worker.wait()
    except BaseException:
        stop_group(worker)
        raise


def stop_group(worker: subprocess.Popen[bytes]) -> None:
    for sig, grace in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, None)):
        try:
            os.killpg(worker.pid, sig)
        except ProcessLookupError:
            return
        try:
            worker.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue
