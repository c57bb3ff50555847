"""What a benchmark's runs recorded, added up.

Every run (one worker process) keeps its own counts, histograms and harness
floor, and names its session (one `cfgbench run`, one lab boot) and the rounds
its values belong to. pyperf keeps at benchmark level only the metadata all
runs share, so a file that gathers several runs (`--append`, `lab --boots`)
would lose anything kept there; readers add the runs up here instead.

Files written before sessions existed (no `cfgbench_session` on any run) carry
one total for the whole file on every run: it is read once, not summed."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

import pyperf

from cfgbench.distribution import Distribution, histograms_from_metadata, summarize
from cfgbench.histogram import LogHistogram

SESSION_KEY = "cfgbench_session"
SCHEDULE_KEY = "cfgbench_schedule"
ROUNDS_KEY = "cfgbench_rounds"
POSITIONS_KEY = "cfgbench_round_positions"
PROCESS_KEY = "cfgbench_process"
FLOOR_KEY = "cfgbench_null_loop_ns"
LEGACY_SESSION = "(one session)"


@dataclass(frozen=True)
class RunRecord:
    """One run with values (calibration runs have none)."""

    session: str
    values: tuple[float, ...]
    rounds: tuple[int, ...] | None  # global round of each value, interleaved runs only
    metadata: dict[str, Any]


def _ints(text: Any) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in str(text).split(",") if part != "")
    except ValueError:
        return None


def run_records(bench: pyperf.Benchmark) -> list[RunRecord]:
    records = []
    for run in bench.get_runs():
        if not run.values:
            continue  # pyperf's calibration runs
        md = run.get_metadata()
        rounds = _ints(md[ROUNDS_KEY]) if ROUNDS_KEY in md else None
        if rounds is not None and len(rounds) != len(run.values):
            rounds = None  # a hand-edited file: do not pair what cannot be matched
        records.append(RunRecord(str(md.get(SESSION_KEY, LEGACY_SESSION)), tuple(run.values), rounds, md))
    return records


def is_legacy(bench: pyperf.Benchmark) -> bool:
    return not any(SESSION_KEY in run.get_metadata() for run in bench.get_runs())


def sessions(bench: pyperf.Benchmark) -> list[str]:
    """Session ids in the order their runs appear."""
    return list(dict.fromkeys(record.session for record in run_records(bench)))


def values_by_session(bench: pyperf.Benchmark) -> dict[str, list[float]]:
    grouped: dict[str, list[float]] = {}
    for record in run_records(bench):
        grouped.setdefault(record.session, []).extend(record.values)
    return grouped


def values_by_round(bench: pyperf.Benchmark) -> dict[tuple[str, int], float]:
    """(session, round) -> value, for the values an interleaved schedule timed."""
    paired: dict[tuple[str, int], float] = {}
    for record in run_records(bench):
        if record.rounds is not None:
            for round_number, value in zip(record.rounds, record.values, strict=True):
                paired[(record.session, round_number)] = value
    return paired


def schedule_of(bench: pyperf.Benchmark) -> str:
    schedules = {str(r.metadata.get(SCHEDULE_KEY, "sequential")) for r in run_records(bench)}
    return ", ".join(sorted(schedules)) or "sequential"


@dataclass
class Totals:
    """Counts and distributions over every run of a benchmark."""

    reads: int = 0
    mismatches: int = 0
    mismatched_sessions: list[str] = field(default_factory=list)
    tsc_hz: int | None = None
    histogram: LogHistogram | None = None
    overhead: LogHistogram | None = None
    floors_ns: list[float] = field(default_factory=list)  # one per run that measured its own
    sessions: list[str] = field(default_factory=list)

    def add_histograms(self, histograms: tuple[LogHistogram, LogHistogram] | None) -> None:
        if histograms is None:
            return
        hist, overhead = histograms
        if self.histogram is None or self.overhead is None:
            self.histogram, self.overhead = hist, overhead
        else:
            self.histogram.merge(hist)
            self.overhead.merge(overhead)

    def distribution(self) -> Distribution | None:
        """Per-read percentiles over every run's samples."""
        if self.histogram is None or self.overhead is None or not self.tsc_hz:
            return None
        return summarize(self.histogram, self.overhead, self.tsc_hz)

    @property
    def floor_ns(self) -> float | None:
        """The lowest floor any run measured: the loop's own cost, least disturbed."""
        return min(self.floors_ns) if self.floors_ns else None


def _number(md: dict[str, Any], key: str) -> int:
    value = md.get(key, 0)
    return int(value) if isinstance(value, (int, float)) else 0


def totals(bench: pyperf.Benchmark) -> Totals:
    if is_legacy(bench):
        return _legacy_totals(bench)
    result = Totals(sessions=sessions(bench))
    tsc_rates = []
    for run in bench.get_runs():  # calibration runs counted too: they read as well
        md = run.get_metadata()
        result.reads += _number(md, "cfgbench_reads")
        mismatches = _number(md, "cfgbench_mismatches")
        result.mismatches += mismatches
        session = str(md.get(SESSION_KEY, LEGACY_SESSION))
        if mismatches and session not in result.mismatched_sessions:
            result.mismatched_sessions.append(session)
        if isinstance(md.get("cfgbench_tsc_hz"), int) and md["cfgbench_tsc_hz"] > 0:
            tsc_rates.append(md["cfgbench_tsc_hz"])
        if run.values and isinstance(md.get(FLOOR_KEY), (int, float)):
            result.floors_ns.append(float(md[FLOOR_KEY]))
        result.add_histograms(histograms_from_metadata(md))
    if tsc_rates:
        result.tsc_hz = round(statistics.median(tsc_rates))
    return result


def _legacy_totals(bench: pyperf.Benchmark) -> Totals:
    md = bench.get_metadata()
    result = Totals(reads=_number(md, "cfgbench_reads"), mismatches=_number(md, "cfgbench_mismatches"),
                    sessions=[LEGACY_SESSION])
    if result.mismatches:
        result.mismatched_sessions.append(LEGACY_SESSION)
    if isinstance(md.get("cfgbench_tsc_hz"), int):
        result.tsc_hz = md["cfgbench_tsc_hz"]
    if isinstance(md.get(FLOOR_KEY), (int, float)):
        result.floors_ns.append(float(md[FLOOR_KEY]))
    result.add_histograms(histograms_from_metadata(md))
    return result
