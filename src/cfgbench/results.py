"""Result files: pyperf JSON with cfgbench metadata, written atomically and never over a user's file."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyperf

from cfgbench.errors import CfgbenchError
from cfgbench.limits import read_file
from cfgbench.schema import method_of


def load_suite(path: Path | str) -> pyperf.BenchmarkSuite:
    """Load a pyperf result file, with one clear error for each way it can be wrong."""
    path = Path(path)
    try:
        text = read_file(path, "give the path of a saved result file").decode()
    except UnicodeDecodeError:
        raise CfgbenchError(f"{path} is not a text file", "give a JSON file written by cfgbench run") from None
    if not text.strip():
        raise CfgbenchError(f"{path} is empty", "the run that wrote it did not finish; run it again")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # also a number of 5000 digits, nesting past the stack
        where = f" (line {exc.lineno}: {exc.msg})" if isinstance(exc, json.JSONDecodeError) else ""
        raise CfgbenchError(f"{path} is not valid JSON{where}", "the file is truncated or corrupt; run the benchmark again") from None
    if not isinstance(data, dict) or "benchmarks" not in data or "version" not in data:
        raise CfgbenchError(f"{path} is JSON but not a pyperf result file", "give a file written by cfgbench run")
    try:
        suite = pyperf.BenchmarkSuite.loads(text)
    except Exception as exc:  # pyperf raises assorted types on malformed content
        raise CfgbenchError(f"{path} is not a readable pyperf result file ({exc})", "give a file written by cfgbench run") from None
    if not suite.get_benchmarks():
        raise CfgbenchError(f"{path} holds no benchmarks", "give a file written by cfgbench run")
    return suite


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Serialises writers in one directory; locking the directory itself leaves no lock file behind."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def write_new(path: Path, write: Callable[[Path], object], replace: bool = False) -> None:
    """Write a temporary file beside path (`write(temp)`), then link it into place (or replace path, when asked)."""
    temp = path.parent / f".cfgbench-{uuid.uuid4().hex}{path.suffix}.tmp"
    try:
        write(temp)
        if replace:
            os.replace(temp, path)
        else:
            os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def _dump_synced(suite: pyperf.BenchmarkSuite) -> Callable[[Path], None]:
    def dump(temp: Path) -> None:
        with temp.open("w") as out:
            suite.dump(out, compact=True)
            out.flush()
            os.fsync(out.fileno())
    return dump


def make_output_dir(directory: Path, fix: str = "choose another --out path") -> Path:
    """Create a results directory (and parents), with one clear error if that fails."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CfgbenchError(f"cannot create directory {directory} ({exc.strerror or exc})", fix) from None
    return directory


def check_writable(path: Path, append: bool) -> None:
    """Fail before measuring, not after, when the result could not be saved."""
    if path.is_dir():
        raise CfgbenchError(f"{path} is a directory", "give a file name with -o")
    if path.exists() and not append:
        raise CfgbenchError(f"{path} already exists", "choose another -o name, or add --append to add this run to it")
    directory = path.parent
    if directory.exists() and not directory.is_dir():
        raise CfgbenchError(f"{directory} is not a directory", "choose another -o path")
    if not directory.is_dir():
        raise CfgbenchError(f"directory {directory} does not exist", "create it first, or choose another -o path")
    _probe_directory(directory)
    if append and path.exists():
        load_suite(path)  # refuse to append to a file we could not read back


def _probe_directory(directory: Path) -> None:
    """Create and remove a file there: access(2) says yes to root on read-only mounts, where a save would fail."""
    try:
        fd, name = tempfile.mkstemp(prefix=".cfgbench-probe-", dir=directory)
    except OSError as exc:
        raise CfgbenchError(f"cannot write in {directory} ({exc.strerror})", "choose another -o path") from None
    os.close(fd)
    os.unlink(name)


def _check_same_method(old: pyperf.Benchmark, name: str, method: str, path: Path | str) -> None:
    if method_of(old) != method:
        raise CfgbenchError(f"{path} already has {name!r} measured with {method_of(old)}, and this run uses {method}",
                            "save each method in its own file, then cfgbench compare them")


def _environment_conflict(name: str, path: Path | str, exc: ValueError) -> CfgbenchError:
    return CfgbenchError(f"{path} holds runs of {name!r} from another environment ({exc})",
                         "save this run to a new file, then cfgbench compare the two")


def check_can_append(existing: pyperf.BenchmarkSuite, name: str, method: str, path: Path | str = "the file") -> None:
    """Before timing: does pyperf take a run of this process into the file's benchmark (one method, one environment)?"""
    for old in existing.get_benchmarks():
        if old.get_name() != name:
            continue
        _check_same_method(old, name, method, path)
        probe = pyperf.Run([1.0], metadata={"name": name, "loops": 1, "unit": "second"})
        try:
            pyperf.Benchmark(old.get_runs()).add_run(probe)
        except ValueError as exc:
            raise _environment_conflict(name, path, exc) from None


def merge_into(existing: pyperf.BenchmarkSuite, new: pyperf.BenchmarkSuite, path: Path | str = "the file") -> None:
    """Add new's benchmarks to existing; same-named ones must share method and environment."""
    names = {b.get_name(): b for b in existing.get_benchmarks()}
    for bench in new.get_benchmarks():
        old = names.get(bench.get_name())
        if old is None:
            existing.add_benchmark(bench)
            continue
        _check_same_method(old, bench.get_name(), method_of(bench), path)
        try:
            old.add_runs(bench)
        except ValueError as exc:
            raise _environment_conflict(bench.get_name(), path, exc) from None


def save_beside(suite: pyperf.BenchmarkSuite, path: Path) -> Path:
    """Save to the first free name `stem-N.json` next to path (never clobbers)."""
    for n in range(1, 1000):
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not candidate.exists():
            try:
                save_suite(suite, candidate)
                return candidate
            except CfgbenchError:
                continue  # taken meanwhile
    raise CfgbenchError(f"no free file name next to {path}", "clean up the directory")


def save_suite(suite: pyperf.BenchmarkSuite, path: Path | str, append: bool = False) -> None:
    """Atomic save: the file holds either the old content or the new, never half."""
    path = Path(path)
    directory = path.parent
    with _locked(directory):
        if path.exists():
            if not append:
                raise CfgbenchError(f"{path} already exists", "choose another -o name, or add --append")
            merged = load_suite(path)
            merge_into(merged, suite, path)
            write_new(path, _dump_synced(merged), replace=True)
        else:
            try:
                write_new(path, _dump_synced(suite))
            except FileExistsError:
                raise CfgbenchError(f"{path} appeared while this run was writing", "choose another -o name") from None
        _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
