"""Run the real `cfgbench` command in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).parent / "data"
HOST_DUMP = DATA / "firecracker-host.lspci"  # `lspci -D -xxxx` of the development machine

# Short pyperf settings: tests check behaviour, benchmarks/ measure speed.
QUICK = ["--loops", "256", "--values", "2", "--processes", "2", "-q"]
QUICK_IN_PROCESS = ["--in-process", "--loops", "256", "--values", "3", "-q"]


def _argv(args: tuple[str, ...]) -> list[str]:
    return [sys.executable, "-m", "cfgbench", *args]


def _environ(env: dict[str, str] | None) -> dict[str, str]:
    return {**os.environ, **(env or {})}


def cfgbench(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_argv(args), check=False, capture_output=True, text=True, cwd=cwd, env=_environ(env), timeout=300)


def start_cfgbench(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`cfgbench` running in the background, leading its own process group as
    a shell job does: a test can signal it (or its group) midway."""
    return subprocess.Popen(_argv(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                            env=_environ(env), start_new_session=True)


def modules_left_imported(code: str, *names: str) -> list[str]:
    """The modules among `names`, and their submodules, that a fresh Python has imported after `code`
    (what a command costs to start in a TCG guest, where each of numpy, scipy, matplotlib costs seconds)."""
    probe = (f"{code}\nimport sys\nnames = {names!r}\n"
             "print(*sorted(m for m in sys.modules if m in names or m.startswith(tuple(n + '.' for n in names))))")
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Exit 2, one line on stderr, no traceback, and it names the cause."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle.lower() in lines[0].lower(), lines[0]
