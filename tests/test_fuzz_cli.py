"""A fuzzed CLI (issue 25): every command and option, read from the click objects themselves, fed
extreme and ill-typed values (huge, negative, zero, NaN, infinity, empty, non-UTF-8, special files:
/dev/zero, a FIFO, a 1 TiB sparse file, a directory). Every call must end within CALL_LIMIT_S, exit 0
or 2 (1 and 3 too for a gate, as documented), print no traceback, and when it fails print at most two
lines on stderr and leave its working directory and TMPDIR as they were.

Each call runs in a forked copy of this process (the CLI's modules already imported, so a call
costs milliseconds), in a fresh directory of fixture files, with its address space limited
(MEMORY_HEADROOM over what it starts with: a value that sizes memory fails there, not on the
machine) and killed at the time limit. Only the kernel and fake methods can run: the suite sets
CFGBENCH_FORBID_RAW (checked below), so pio and mmio, which are fuzzed too, refuse before any
port or /dev/mem access.

Two paths are changed, after every check cfgbench makes before them:
- timing (`engine.time_plan`, which `run` and `ci run` reach): the settings it is given are checked
  against this test's own account of what can finish (`cannot_honour`), then the run is timed for
  real, scaled down (`scaled_down`: one process, two values of at most 64 reads), so that saving,
  appending, the summary and `--plot` run as they would;
- booting a guest (`lab`): QEMU is never started; the guest's timeout is checked where the lab
  would start watching it, and the call ends there as a success.

Reproduce a failure: hypothesis prints the falsifying command line (and a blob for
@reproduce_failure); the examples come from CFGBENCH_FUZZ_SEED (default 25), so
`CFGBENCH_FUZZ_SEED=N pytest tests/test_fuzz_cli.py` replays a run, and another N explores others.
CFGBENCH_FUZZ_SCALE multiplies the examples (two per parameter of each command, ten at least);
CFGBENCH_FUZZ_LOG=FILE writes every call and how it ended, one JSON line each."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import re
import math
import os
import resource
import select
import shlex
import shutil
import signal
import stat
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

import click
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from cli_helpers import HOST_DUMP
from historyfiles import METAL_MEANS, START, commit_for, run_file

from cfgbench import access, limits
from cfgbench._native import ffi, lib
from cfgbench.access.base import FORBID_RAW_ENV
from cfgbench.access.fake import FAKE_DUMP_ENV
from cfgbench.cli import COMMAND_MODULES, main
from cfgbench.errors import CfgbenchError
from cfgbench.history.store import add_to_history
from cfgbench.settings import Settings

SEED = int(os.environ.get("CFGBENCH_FUZZ_SEED", "25"))
SCALE = float(os.environ.get("CFGBENCH_FUZZ_SCALE", "1"))  # examples per command: SCALE x 2 per parameter, 10 at least
LOG = os.environ.get("CFGBENCH_FUZZ_LOG")
CALL_LIMIT_S = 20.0
MEMORY_HEADROOM = 1 << 30
GATES = {("compare",), ("ci", "gate")}  # their documented exit codes: 1 regression, 3 inconclusive
CALLS: list[str] = []  # every command line run, for the count at the end

# What a run must be able to finish, by this test's own account (not limits.py's): its counts fit the
# native loop (the C entry point converts them as the timed call does), its per-value sample buffer can be
# allocated, and one benchmark's timing ends within two hours at a microsecond a read, with half a second
# per worker process started and 20 us of harness per value. A guest is given a day at most.
HONOUR_S = 2 * 3600.0
READ_S, START_S, PER_VALUE_S = 1e-6, 0.5, 20e-6
GUEST_S = 86400.0


# --- the command lines -------------------------------------------------------

def leaves() -> list[tuple[tuple[str, ...], click.Command]]:
    """Every command a user can run, from the click objects (a group's subcommands in its place)."""
    ctx = click.Context(main)
    found = []
    for name in COMMAND_MODULES:
        command = main.get_command(ctx, name)
        assert command is not None
        subcommands = command.commands if isinstance(command, click.Group) else {"": command}
        found += [((name, sub) if sub else (name,), c) for sub, c in sorted(subcommands.items())]
    return found


NUMBERS = ["0", "-1", "0.5", "-0", "1e-9", "1000000000", "1e308", "-1e308", "1e309", "inf", "-inf", "nan", "-nan", "4294967296",
           "18446744073709551616", "99999999999999999999999", "-99999999999999999999999", "9" * 4300, "9" * 4301,
           "0x10", "1_000", " 7 "]
SHORT_NUMBERS = ["0", "nan", "inf", "1e308", "9" * 4300, "abc"]
WORDS = ["", " ", "-", "abc", "\udcff\udcfe", "é", "a" * 300, "%s{}\\n"]
FILES = ["new.png", "new.json", "new.svg", "new-{method}.json", "pio.json", "kernel.json", "run00-bm-1/mmio.json"]
ODD_FILES = ["empty.json", "trunc.json", "fifo", "big.json", "a-dir", "missing.json", "/dev/zero", "/dev/null",
             "\udcff.json", "pio.json/x"]
SHORT_PATHS = ["fifo", "big.json", "/dev/zero", "a-dir", "pio.json/x", "\udcff.json"]
DIRS = ["run00-bm-1", "run01-bm-1", "hist", "artifacts", "new-dir"]
ODD_DIRS = ["a-dir", "fifo", "pio.json", "/dev", "missing"]
ODD = NUMBERS + WORDS + ODD_FILES + ODD_DIRS
# Ordinary values by parameter name, so that most of a command line is good and calls reach deep. Optional:
# an option without them is fuzzed all the same (with its type's ordinary values, or odd ones only).
HINTS = {
    "devices": ["0000:00:00.0", "00:00.0", "00:01.0"], "offsets": ["0", "0x100", "COMMAND", "CAP_EXP"],
    "buses": ["00-00", "00-01"], "metadata_items": ["k=v"], "affinity": ["0", "0-1"],
    "size": ["200x150", "800x600"], "fail_if": ["mean:5%", "median:+200ns"], "commit": [commit_for(9)],
    "machine": ["bm-1"], "machines": ["bm-1"], "command": ["true"], "reference": ["bm-1"], "runner": ["bm-1"],
    "loops": ["1", "64"], "values": ["2", "3"], "processes": ["1", "2"], "warmups": ["0", "1"],
    "min_time": ["0.001"], "samples": ["0", "100"], "boots": ["1", "2"], "timeout": ["10"], "dpi": ["72", "100"],
    "last": ["1", "5"], "max_pvalue": ["0.001", "0.05"], "min_change": ["0", "5"], "seed": ["0", "7"],
    "files": ["pio.json", "kernel.json", "run00-bm-1/mmio.json", "run01-bm-1/pio.json"],
    "methods": ["kernel", "pio"], "directory": ["hist"], "history_dir": ["hist", "new-hist"], "directories": ["run00-bm-1", "run01-bm-1"],
    "results": ["run00-bm-1"], "results_dirs": ["run00-bm-1", "run01-bm-1"], "baseline": ["run01-bm-1", "new-dir"],
    "runs_dir": ["artifacts"],
}
HINTS["device"], HINTS["register"] = HINTS["devices"], HINTS["offsets"]
PATHS = {"files", "directory", "directories", "history_dir", "results", "results_dirs", "baseline", "runs_dir"}
# Odd values of a parameter's own kind: a size past its bound, a rule of a thousand percent.
ODD_HINTS = {
    "devices": ["ffff:ff:1f.7", "0000:00:00.0.0"], "offsets": ["0xffc", "0x1000", "-4"], "buses": ["00-ff", "ff-00"],
    "metadata_items": ["=", "novalue"], "affinity": ["0-8191", "0-8192", "0-99999999999", "1,0"],
    "size": ["100x100", "16000x1500", "16001x100", "70000x100", "16000x16000", "99999x99999", "0x0", "1x1"],
    "fail_if": ["mean:1000%", "mean:1001%", "median:1s", "mean:" + "9" * 400 + "%"], "commit": ["abc1234", "xyz"],
    "machine": ["..", "a/b"], "command": ["sh", "-c"], "reference": ["nosuch"],
}
ODD_HINTS["device"], ODD_HINTS["register"] = ODD_HINTS["devices"], ODD_HINTS["offsets"]


def ordinary(param: click.Parameter) -> list[str]:
    """Values a user would give."""
    kind, found = param.type, list(HINTS.get(param.name or "", []))
    if isinstance(kind, click.Choice):
        found += [str(c) for c in kind.choices]
    elif kind.name == "method":
        found += ["kernel", "fake"]
    elif isinstance(kind, click.Path):
        found += DIRS if not kind.file_okay else FILES if not kind.dir_okay else FILES + DIRS
    return found


def odd(param: click.Parameter, short: bool = False) -> list[str]:
    """Values at and past the parameter's limits, of other types, and special files (short: the sharpest)."""
    kind, found = param.type, list(ODD_HINTS.get(param.name or "", []))
    numbers, paths = (SHORT_NUMBERS, SHORT_PATHS) if short else (NUMBERS, ODD_FILES + ODD_DIRS)
    if kind.name == "number":
        bound = limits.BOUNDS[max(param.opts, key=len)]
        high = bound.high if bound.high is not None else 10**9
        found += [str(n) for n in (bound.low - 1, high + 1, high * 1000)] + numbers
    elif isinstance(kind, click.IntRange | click.FloatRange):
        found += [str(n - 1) for n in (kind.min,) if n is not None] + numbers
    elif kind.name == "method":
        found += [*access.METHODS, "ecam", "nosuch"]  # pio and mmio refuse: the suite forbids raw access
    if isinstance(kind, click.Path) or param.name in PATHS:
        found += paths
    return found


def values_for(param: click.Parameter, mutated: bool) -> st.SearchStrategy[str]:
    if not mutated and (good := ordinary(param)):
        return st.sampled_from(good)
    mine = st.sampled_from(odd(param) or ODD)
    return st.one_of(mine, st.sampled_from(ODD), st.binary(max_size=3).map(os.fsdecode).filter(lambda s: "\x00" not in s))


@st.composite
def command_lines(draw: st.DrawFn, leaf: tuple[tuple[str, ...], click.Command]) -> list[str]:
    """Ordinary values, and up to three parameters (of any, given or not) with odd ones."""
    words, command = leaf
    valued = [p for p in command.params if not (isinstance(p, click.Option) and p.is_flag)]
    odd_ones = draw(st.integers(0, 3)) if valued else 0
    mutated = set(draw(st.lists(st.sampled_from(valued), min_size=odd_ones, max_size=odd_ones))) if valued else set()
    # Each option in one call of five, a flag in one of ten: flags that contradict each other stay rare.
    chosen = [p for p in command.params if isinstance(p, click.Argument) or p.required or p in mutated
              or draw(st.integers(0, 9)) < (1 if getattr(p, "is_flag", False) else 2)]
    args, positional = list(words), []
    for param in chosen:
        if isinstance(param, click.Argument):
            count = 1 if param.nargs == 1 else draw(st.integers(1 if param.required else 0, 3))
            positional += [draw(values_for(param, param in mutated)) for _ in range(count)]
        elif isinstance(param, click.Option) and param.is_flag:
            args.append(draw(st.sampled_from(param.opts + param.secondary_opts)))
        elif isinstance(param, click.Option):
            for _ in range(draw(st.integers(1, 2 if param.multiple else 1))):
                args += [draw(st.sampled_from(param.opts)), draw(values_for(param, param in mutated))]
    return args + (["--"] if positional and draw(st.booleans()) else []) + positional


def ordinary_call(command: click.Command, cheapest: bool) -> dict[click.Parameter, list[str]]:
    """Its arguments and required options; cheapest: every bounded option at its low end too."""
    base = {}
    for param in command.params:
        kind, good = param.type, ordinary(param)
        if isinstance(param, click.Argument) and good and not isinstance(kind, click.types.UnprocessedParamType):
            base[param] = good[:1 if param.nargs == 1 else 2]
        elif param.required and good:
            base[param] = good[:1]
        elif cheapest and kind.name == "number":
            base[param] = [limits.shown(limits.BOUNDS[max(param.opts, key=len)].low)]
        elif cheapest and isinstance(kind, click.IntRange) and kind.min is not None:
            base[param] = [str(kind.min)]
    return base


def one_odd_value_at_a_time(words: tuple[str, ...], command: click.Command) -> Iterator[list[str]]:
    """An ordinary call with one parameter at each of its own odd values in turn, so that every bound is met alone:
    a number both in the cheapest call (--processes past its bound with one read a value) and with the defaults
    (--min-time past the hour when the loops are calibrated)."""
    cheap, plain = ordinary_call(command, True), ordinary_call(command, False)
    for param in command.params:
        for base in (cheap, plain) if param in cheap and param not in plain else (cheap,):
            for value in odd(param, short=True):
                given = {**base, param: [*base.get(param, [])[: 0 if param.nargs == 1 else 1], value]}
                args, positional = list(words), []
                for p, values in given.items():
                    if isinstance(p, click.Argument):
                        positional += values
                    else:
                        args += [item for v in values for item in (p.opts[0], v)]
                yield args + (["--"] if positional else []) + positional


# --- one call, in a forked copy of this process ---------------------------------

class Stopped(BaseException):
    """Raised where a call would time or boot: a success, or (note "cannot honour") a failure."""


def cannot_honour(s: Settings) -> str:
    """Why a run with these settings could not finish, or ''."""
    try:
        target = ffi.new("struct cfg_target *", {"kind": lib.CFG_KIND_NULL, "width": 3})  # EINVAL before any loop
        lib.cfg_time_loop(target, s.loops, ffi.new("struct cfg_loop_result *"))
        ffi.new("uint64_t[]", math.ceil(s.samples / s.values))
        value_s = s.loops * READ_S if s.loops else s.min_time
        took = s.processes * (START_S + (s.warmups + s.values) * (value_s + PER_VALUE_S))
    except (OverflowError, MemoryError, ZeroDivisionError, TypeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return "" if math.isfinite(took) and took <= HONOUR_S else f"one benchmark's timing would take {took:.3g} s"


def scaled_down(s: Settings) -> Settings:
    """The same run in miniature: every code path it takes, in this process, in milliseconds."""
    return replace(s, processes=1, in_process=True, values=min(s.values, 2), warmups=min(s.warmups, 1),
                   loops=min(s.loops, 64), min_time=min(s.min_time, 1e-3), samples=min(s.samples, 100))


def _note(text: str) -> None:
    Path(os.environ["CFGBENCH_FUZZ_NOTE"]).write_text(text)


def _time_scaled_down(real: Any) -> Any:
    def time_plan(plan: Any, s: Settings, workdir: Path) -> Any:
        if problem := cannot_honour(s):
            raise Stopped(f"cannot honour: {problem}")
        _note("timed, scaled down")
        return real(plan, scaled_down(s), workdir)
    return time_plan


@contextlib.contextmanager
def _no_qemu(argv: list[str]) -> Iterator[None]:
    yield None  # no QEMU: the watch below stops the call


def _watch_stops(proc: Any, console: Any, cfg: Any, *rest: Any) -> NoReturn:
    given = cfg.timeout_s
    raise Stopped("boot" if math.isfinite(given) and given <= GUEST_S else f"cannot honour: a guest given {given} s")


def _child(args: list[str], work: Path, streams: Path) -> NoReturn:  # pragma: no cover (runs in the fork)
    code = 1
    try:
        os.setpgrp()
        os.chdir(work)
        for fd, name in ((1, "out"), (2, "err")):
            os.dup2(os.open(streams / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
        # As a UTF-8 locale other than C.UTF-8 opens them: strict on stdout.
        sys.stdout = open(1, "w", encoding="utf-8", errors="strict", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
        sys.stdin = open(os.devnull)  # noqa: SIM115
        os.environ["TMPDIR"] = tempfile.tempdir = str(streams / "tmp")
        os.environ["CFGBENCH_FUZZ_NOTE"] = str(streams / "note")
        size = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmSize:"))
        resource.setrlimit(resource.RLIMIT_AS, (size * 1024 + MEMORY_HEADROOM,) * 2)
        from cfgbench import engine
        from cfgbench.lab import guest

        engine.time_plan = _time_scaled_down(engine.time_plan)
        guest._qemu = _no_qemu
        guest._Watch = _watch_stops
        main.main(args=args, prog_name="cfgbench")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    except Stopped as exc:
        _note(str(exc))
        code = 0
    except BaseException:  # what Python itself does with an uncaught exception
        traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


@dataclass(frozen=True)
class Outcome:
    code: int | None  # None: killed at the time limit
    stdout: str
    stderr: str
    note: str  # "timed, scaled down", "boot" (stopped there), "cannot honour: ...", or ''
    seconds: float


def call(args: list[str], work: Path, streams: Path) -> Outcome:
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(args, work, streams)
    pidfd = os.pidfd_open(pid)
    try:
        finished = select.select([pidfd], [], [], CALL_LIMIT_S)[0]
    finally:
        os.close(pidfd)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)  # the call if it is still running, and anything it left running
    status = os.waitpid(pid, 0)[1]
    read = {name: (streams / name).read_text(errors="replace") if (streams / name).exists() else ""
            for name in ("out", "err", "note")}
    return Outcome(os.waitstatus_to_exitcode(status) if finished else None, read["out"], read["err"], read["note"],
                   time.monotonic() - started)


# --- the fixture files ----------------------------------------------------------

def make_template(root: Path) -> Path:
    """Two runs of three methods (as `ci run` writes them), a history of both, the CI job's artifacts, odd files."""
    template = root / "template"
    for i in range(2):
        run_dir = template / f"run{i:02d}-bm-1"
        run_dir.mkdir(parents=True)
        for m, (method, means) in enumerate(METAL_MEANS.items()):
            run_file(run_dir / f"{method}.json", method, means, START + timedelta(days=i, minutes=m),
                     sessions=(f"2026120{i}T000000Z-00000{m}",), seed=10 * i + m)
        add_to_history(template / "hist", sorted(run_dir.iterdir()), commit_for(i))
    shutil.copytree(template / "run00-bm-1", template / "artifacts" / "cfgbench-bm-1")
    for path in (template / "run00-bm-1").iterdir():
        shutil.copy(path, template / path.name)
    text = (template / "pio.json").read_text()
    (template / "trunc.json").write_text(text[: len(text) // 2])
    (template / "empty.json").write_text("")
    return template


def populate(template: Path, work: Path) -> None:
    shutil.copytree(template, work)
    os.mkfifo(work / "fifo")
    (work / "a-dir").mkdir()
    with open(work / "big.json", "wb") as big:
        big.truncate(1 << 40)  # sparse: a terabyte that takes no space


def snapshot(*directories: Path) -> dict[str, tuple[str, int, int, str]]:
    """Every entry: its kind, size, mtime (not a directory's) and, for small regular files, a digest of its content."""
    found = {}
    for directory in directories:
        for path in sorted(directory.rglob("*")):
            info = path.lstat()
            kind = "file" if stat.S_ISREG(info.st_mode) else "dir" if stat.S_ISDIR(info.st_mode) else "other"
            small = kind == "file" and info.st_size < 1 << 20
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if small else ""
            # A directory's mtime is left out: a probe for writing (created and removed) moves it.
            found[str(path)] = (kind, info.st_size if kind == "file" else 0, 0 if kind == "dir" else info.st_mtime_ns,
                                digest)
    return found


# --- the property ------------------------------------------------------------------

@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # Imported once here, not in every fork: what the commands load lazily.
    for module in ("cfgbench.engine", "cfgbench.session", "cfgbench.lab.mainjob", "cfgbench.compare.model",
                   "cfgbench.plot", "cfgbench.history.trend", "cfgbench.ci.gate", "cfgbench.ci.record",
                   "matplotlib.pyplot", "scipy.stats"):
        importlib.import_module(module)
    shm = Path("/dev/shm")
    root = Path(tempfile.mkdtemp(prefix="cfgbench-fuzz-", dir=shm)) if os.access(shm, os.W_OK) else tmp_path_factory.mktemp("fuzz")
    yield make_template(root)
    shutil.rmtree(root, ignore_errors=True)


def summary() -> str:
    """The count the closing line of the suite gives (tests/conftest.py)."""
    notes = [c for c in CALLS if c.startswith("[")]
    timed, booted = notes.count("[timed, scaled down]"), notes.count("[boot]")
    return (f"cfgbench fuzz (seed {SEED}): {len(CALLS)} calls, {timed} timed scaled down, "
            f"{booted} stopped at a guest's boot")


def test_raw_methods_refuse_before_any_access() -> None:
    """What makes fuzzing pio and mmio safe: the suite's guard, and their refusal in open() itself."""
    assert os.environ.get(FORBID_RAW_ENV) == "1"
    for name, method in access.METHODS.items():
        if method.raw:
            with pytest.raises(CfgbenchError, match="forbidden"):
                access.create(name).open()


def test_every_command_is_fuzzed() -> None:
    names = {words[0] for words, _ in leaves()}
    assert names == set(COMMAND_MODULES)
    assert len(leaves()) >= len(COMMAND_MODULES) + 4  # the groups' subcommands


def check(args: list[str], template: Path, root: Path) -> None:
    work, streams = root / "work", root / "streams"
    shutil.rmtree(root, ignore_errors=True)
    populate(template, work)
    (streams / "tmp").mkdir(parents=True)
    before = snapshot(work, streams / "tmp")
    outcome = call(args, work, streams)
    CALLS.append(f"[{outcome.note}]" if outcome.note else shlex.join(args))
    if LOG:
        with open(LOG, "a") as log:
            print(json.dumps([outcome.code, round(outcome.seconds, 2), outcome.note, args, outcome.stderr[-300:]]), file=log)
    shown = f"cd {work} && cfgbench {shlex.join(args)}  (CFGBENCH_FUZZ_SEED={SEED})\n{outcome}"
    assert outcome.code is not None, f"still running after {CALL_LIMIT_S} s: {shown}"
    assert not outcome.note.startswith("cannot honour"), shown
    assert "Traceback" not in outcome.stderr, shown
    gate = tuple(args[:2]) in GATES or tuple(args[:1]) in GATES
    assert outcome.code in {0, 2} | ({1, 3} if gate else set()), shown
    lines = outcome.stderr.strip().splitlines()
    if outcome.code == 2 and not (gate and lines and re.match(r"cfgbench: (ci )?gate: error", lines[-1])):
        # A refusal. (A gate's own outcome "error", one method's comparison failing, writes its report.)
        assert 1 <= len(lines) <= 2 and lines[-1].startswith("cfgbench: error: "), shown
        assert snapshot(work, streams / "tmp") == before, shown


@pytest.mark.parametrize("leaf", leaves(), ids=lambda leaf: " ".join(leaf[0]))
def test_each_parameter_alone_at_its_odd_values(leaf: tuple[tuple[str, ...], click.Command], template: Path,
                                                 scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deterministic, beside the random combinations below: each bound and special file meets its value."""
    monkeypatch.setenv(FAKE_DUMP_ENV, str(HOST_DUMP))
    for args in one_odd_value_at_a_time(*leaf):
        check(args, template, scratch / "call")


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    """Where the calls run: in memory where it can be (a directory made and removed costs a millisecond on ext4)."""
    shm = Path("/dev/shm")
    where = Path(tempfile.mkdtemp(prefix="cfgbench-fuzz-", dir=shm)) if os.access(shm, os.W_OK) else tmp_path
    yield where
    shutil.rmtree(where, ignore_errors=True)


@pytest.mark.parametrize("leaf", leaves(), ids=lambda leaf: " ".join(leaf[0]))
def test_no_traceback_and_no_hang_whatever_the_input(leaf: tuple[tuple[str, ...], click.Command], template: Path,
                                                      scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FAKE_DUMP_ENV, str(HOST_DUMP))
    assert os.environ.get(FORBID_RAW_ENV) == "1"

    @seed(SEED)
    @settings(max_examples=round(SCALE * max(10, 2 * len(leaf[1].params))), deadline=None, database=None, print_blob=True,
              suppress_health_check=list(HealthCheck))
    @given(command_lines(leaf))
    def fuzz(args: list[str]) -> None:
        check(args, template, scratch / "call")

    fuzz()
