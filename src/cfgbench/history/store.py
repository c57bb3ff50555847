"""A history of CI runs: result files kept per machine, named by date, commit and method (docs/ci-history.md)."""

from __future__ import annotations

import io
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyperf

from cfgbench import access, runs
from cfgbench.errors import CfgbenchError
from cfgbench.limits import read_file
from cfgbench.results import load_suite, make_output_dir, write_new
from cfgbench.schema import COMMIT, ENVIRONMENT_FIELDS, METHOD, PYPERF_DATE, PYPERF_HOSTNAME, method_of

DATE_FORMAT = "%Y%m%dT%H%M%S"
FILE_NAME = re.compile(r"^(?P<date>\d{8}T\d{6})-(?P<commit>[0-9a-f]{7,40})-(?P<method>[A-Za-z0-9_]+)\.json$")
COMMIT_ID = re.compile(r"^[0-9a-fA-F]{7,40}$")
SHORT_COMMIT = 12  # git's 7 collide in big repositories; 12 stay unique and readable
MACHINE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

# Metadata that explains a step when it changes between two runs of one machine: key -> label.
STEP_EXPLAINERS = {f.key: f.label for f in ENVIRONMENT_FIELDS if f.explains_steps}


@dataclass(frozen=True)
class Point:
    """One CI run's values of one target by one method on one machine."""

    machine: str
    method: str
    target: str
    date: datetime | None  # the first run's start, as pyperf recorded it (naive: the runner's clock)
    commit: str
    session: str | None
    values: tuple[float, ...]
    path: Path
    environment: dict[str, str] = field(default_factory=dict)  # STEP_EXPLAINERS keys present in the metadata

    @property
    def median(self) -> float:
        return statistics.median(self.values)


@dataclass(frozen=True)
class Series:
    """The points of one (target, method, machine), oldest first."""

    target: str
    method: str
    machine: str
    points: tuple[Point, ...]

    @property
    def medians(self) -> list[float]:
        return [p.median for p in self.points]


@dataclass(frozen=True)
class Added:
    source: Path
    path: Path
    already_there: bool  # the same content was in the history already: nothing written


def check_commit(commit: str) -> str:
    if not COMMIT_ID.match(commit):
        raise CfgbenchError(f"--commit {commit!r} is not a git commit id",
                            "give 7 to 40 hex digits, e.g. --commit \"$GITHUB_SHA\"")
    return commit.lower()


def check_machine(name: str) -> str:
    if not MACHINE.match(name):
        raise CfgbenchError(f"{name!r} cannot name a machine directory",
                            "use letters, digits, '.', '_' and '-' (at most 64, not starting with '.' or '-')")
    return name


def machine_from_hostname(hostname: str) -> str:
    """A directory name from a hostname: its first label, unsafe characters replaced."""
    return check_machine(re.sub(r"[^A-Za-z0-9._-]", "-", hostname.split(".")[0]).strip("-.") or "?")


def file_name(date: datetime, commit: str, method: str) -> str:
    return f"{date.strftime(DATE_FORMAT)}-{commit[:SHORT_COMMIT]}-{method}.json"


def _parse_date(text: Any) -> datetime | None:
    try:
        date = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    # Aware dates to naive UTC, so that every date in a history compares with every other.
    return date.astimezone(timezone.utc).replace(tzinfo=None) if date.tzinfo else date


def _first_date(suite: pyperf.BenchmarkSuite) -> datetime | None:
    dates = [d for d in map(_parse_date, runs.metadata_values(suite.get_benchmarks(), PYPERF_DATE)) if d is not None]
    return min(dates) if dates else None


@dataclass(frozen=True)
class _Prepared:
    source: Path
    path: Path
    content: bytes


def _prepare(source: Path, directory: Path, commit: str, machine: str | None) -> _Prepared:
    suite = load_suite(source)
    method = runs.only_value((str(b.get_metadata().get(METHOD, "")) for b in suite.get_benchmarks()), "method", source,
                             "add one file per method, as cfgbench run -o '{method}.json' writes them")
    if not method or not re.fullmatch(r"[A-Za-z0-9_]+", method):
        raise CfgbenchError(f"{source} names no cfgbench method", "add files written by cfgbench run")
    recorded = runs.only_value(runs.metadata_values(suite.get_benchmarks(), COMMIT), "commit", source,
                               "add each commit's file separately")
    if recorded and recorded != commit:
        raise CfgbenchError(f"{source} was recorded for commit {recorded}, not {commit}", "check --commit")
    if machine is None:
        hostname = runs.only_value(runs.metadata_values(suite.get_benchmarks(), PYPERF_HOSTNAME), "hostname", source,
                                   "give --machine")
        if not hostname:
            raise CfgbenchError(f"{source} records no hostname", "name the machine with --machine")
        machine = machine_from_hostname(hostname)
    for bench in suite.get_benchmarks():
        bench.update_metadata({COMMIT: commit})
    out = io.StringIO()
    suite.dump(out, compact=True)
    # A file without dates (hand-built) is named by the time it was added.
    date = _first_date(suite) or datetime.now(timezone.utc).replace(tzinfo=None)
    return _Prepared(source, directory / machine / file_name(date, commit, method), out.getvalue().encode())


def _write_new(prepared: _Prepared) -> bool:
    """Link the content into place; False if that very content is there already. Never replaces."""
    target = prepared.path
    make_output_dir(target.parent, "choose another --dir")
    try:
        write_new(target, lambda temp: temp.write_bytes(prepared.content))
        return True
    except FileExistsError:
        if read_file(target, "check the history directory") == prepared.content:
            return False  # a re-run of the same CI job: already recorded
        raise CfgbenchError(f"{target} already exists with another run than {prepared.source}",
                            "nothing was overwritten; check --commit and --machine") from None
    except OSError as exc:
        raise CfgbenchError(f"cannot write {target} ({exc.strerror or exc})", "check the history directory") from None


def add_to_history(directory: Path | str, sources: Sequence[Path | str], commit: str,
                   machine: str | None = None) -> list[Added]:
    """Copy result files into the history, all read and named before any is written (a bad one changes nothing)."""
    directory = Path(directory)
    commit = check_commit(commit)
    if machine is not None:
        check_machine(machine)
    if directory.exists() and not directory.is_dir():
        raise CfgbenchError(f"{directory} is not a directory", "give the history directory with --dir")
    if directory.is_dir():
        _check_layout(directory)  # a directory that is not a history would take the files, then not read back
    prepared = [_prepare(Path(s), directory, commit, machine) for s in sources]
    names = [p.path for p in prepared]
    duplicate = next((p for p in names if names.count(p) > 1), None)
    if duplicate is not None:
        clashing = [str(p.source) for p in prepared if p.path == duplicate]
        raise CfgbenchError(f"{' and '.join(clashing)} would both become {duplicate}",
                            "add runs of one method on one machine in separate commits or with separate --machine")
    for p in prepared:
        _refuse_same_run(p)
    return [Added(p.source, p.path, not _write_new(p)) for p in prepared]


def _refuse_same_run(prepared: _Prepared) -> None:
    """A run added again under another commit would count twice: same start time and method, same run."""
    named = FILE_NAME.match(prepared.path.name)
    if named is None or not prepared.path.parent.is_dir():
        return
    for other in prepared.path.parent.glob(f"{named['date']}-*-{named['method']}.json"):
        if other != prepared.path:
            raise CfgbenchError(f"{prepared.source} is already in the history as {other} (same method and start time)",
                                "nothing was added; check --commit")


def points_of_file(path: Path, machine: str) -> list[Point]:
    """The points one history file holds: one per benchmark and session."""
    suite = load_suite(path)
    named = FILE_NAME.match(path.name)
    points = []
    for bench in suite.get_benchmarks():
        legacy = runs.is_legacy(bench)
        for session, records in runs.by_session(bench).items():
            metadata = records[0].metadata
            dates = [d for d in (_parse_date(r.metadata.get(PYPERF_DATE)) for r in records) if d is not None]
            commit = metadata.get(COMMIT) or (named["commit"] if named else "unknown")
            environment = {key: str(metadata[key]) for key in STEP_EXPLAINERS if key in metadata}
            points.append(Point(machine, method_of(bench), bench.get_name(), min(dates) if dates else None,
                                str(commit), None if legacy else session,
                                tuple(v for r in records for v in r.values), path, environment))
    return points


def _check_layout(directory: Path) -> list[Path]:
    """The machine directories of a history; a result file beside them is one line."""
    entries = [entry for entry in sorted(directory.iterdir()) if not entry.name.startswith(".")]
    for entry in entries:
        if entry.suffix == ".json" and not entry.is_dir():
            raise CfgbenchError(f"{entry} is not in a machine directory",
                                f"history files live in {directory}/<machine>/; move it, or add it with cfgbench history add")
    return [entry for entry in entries if entry.is_dir()]


def _history_files(directory: Path) -> list[tuple[str, Path]]:
    if not directory.is_dir():
        raise CfgbenchError(f"{directory} is not a directory" if directory.exists() else f"{directory} does not exist",
                            "give a directory filled by cfgbench history add")
    found = []
    for entry in _check_layout(directory):
        found += [(entry.name, f) for f in sorted(entry.glob("*.json")) if not f.name.startswith(".")]
    if not found:
        raise CfgbenchError(f"no result files in {directory}", "add runs with cfgbench history add")
    return found


def load_history(directory: Path | str) -> list[Series]:
    """Every series in the history, sorted by target, method and machine; points oldest first."""
    grouped: dict[tuple[str, str, str], list[Point]] = {}
    for machine, path in _history_files(Path(directory)):
        for point in points_of_file(path, machine):
            grouped.setdefault((point.target, point.method, point.machine), []).append(point)
    # Undated points (hand-built files) by the name, which carries the date they were added.
    return [Series(target, method, machine, tuple(sorted(points, key=lambda p: (p.date or datetime.min, p.path.name))))
            for (target, method, machine), points in sorted(grouped.items(), key=lambda item: series_order(*item[0]))]


def series_order(target: str, method: str, machine: str) -> tuple[str, tuple[int, str], str]:
    return (target, access.rank(method), machine)
