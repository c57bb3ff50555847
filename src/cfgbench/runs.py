"""What a benchmark's runs recorded, added up: the one reader of runs (docs/design.md, "Runs, sessions, rounds")."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyperf

from cfgbench import schema
from cfgbench.errors import CfgbenchError
from cfgbench.histogram import Distribution, LogHistogram, distribution_of, histograms_from_metadata

if TYPE_CHECKING:
    import numpy as np

LEGACY_SESSION = "(one session)"


@dataclass(frozen=True)
class RunRecord:
    """One run with values (calibration runs have none)."""

    session: str
    values: tuple[float, ...]
    rounds: tuple[int, ...] | None  # each value's global round, interleaved runs only
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
        rounds = _ints(md[schema.ROUNDS]) if schema.ROUNDS in md else None
        if rounds is not None and len(rounds) != len(run.values):
            rounds = None  # a hand-edited file: do not pair what cannot be matched
        records.append(RunRecord(str(md.get(schema.SESSION, LEGACY_SESSION)), tuple(run.values), rounds, md))
    return records


def is_legacy(bench: pyperf.Benchmark) -> bool:
    return not any(schema.SESSION in run.get_metadata() for run in bench.get_runs())


def sessions(bench: pyperf.Benchmark) -> list[str]:
    return list(dict.fromkeys(record.session for record in run_records(bench)))


def fewest_sessions(benchmarks: Iterable[pyperf.Benchmark]) -> int:
    """The runs (sessions) a file holds for its target that has the fewest."""
    return min((len(sessions(bench)) for bench in benchmarks), default=0)


def by_session(bench: pyperf.Benchmark) -> dict[str, list[RunRecord]]:
    grouped: dict[str, list[RunRecord]] = {}
    for record in run_records(bench):
        grouped.setdefault(record.session, []).append(record)
    return grouped


def values_by_session(bench: pyperf.Benchmark) -> dict[str, list[float]]:
    return {session: [v for r in records for v in r.values] for session, records in by_session(bench).items()}


def values_by_round(bench: pyperf.Benchmark) -> dict[tuple[str, int], float]:
    """(session, round) -> value, for the values an interleaved schedule timed."""
    paired: dict[tuple[str, int], float] = {}
    for record in run_records(bench):
        if record.rounds is not None:
            for round_number, value in zip(record.rounds, record.values, strict=True):
                paired[(record.session, round_number)] = value
    return paired


def metadata_values(benchmarks: Iterable[pyperf.Benchmark], key: str) -> set[str]:
    return {str(run.get_metadata()[key]) for bench in benchmarks for run in bench.get_runs()
            if key in run.get_metadata()}


def only_value(values: Iterable[str], what: str, where: object, fix: str) -> str:
    """The one value the runs recorded, "" for none; several are one line."""
    found = sorted(set(values))
    if len(found) > 1:
        raise CfgbenchError(f"{where} holds runs of several {what}s ({', '.join(found)})", fix)
    return found[0] if found else ""


def environment(benchmarks: Iterable[pyperf.Benchmark]) -> dict[str, str]:
    """Where the runs happened, by label; distinct values are joined, so a file that mixes machines says so."""
    benches = list(benchmarks)
    env: dict[str, str] = {}
    for field_ in schema.ENVIRONMENT_FIELDS:
        values = metadata_values(benches, field_.key)
        if field_.key == schema.CPU_MODEL and not values:
            values = metadata_values(benches, schema.PYPERF_CPU_MODEL)  # files from before cfgbench recorded its own
        if values:
            env[field_.label] = ", ".join(sorted(values))
    return env


@dataclass
class Totals:
    """Counts and distributions over every run of a benchmark."""

    reads: int = 0
    mismatches: int = 0
    tsc_hz: int | None = None
    histogram: LogHistogram | None = None
    overhead: LogHistogram | None = None
    null_loops_ns: list[float] = field(default_factory=list)
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
        if self.histogram is None or self.overhead is None or not self.tsc_hz:
            return None
        return distribution_of(self.histogram, self.overhead, self.tsc_hz)

    def read_ecdf(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(seconds, fractions) of single reads over every run."""
        if self.histogram is None or not self.tsc_hz:
            return None
        cycles, fractions = self.histogram.ecdf()
        return cycles / self.tsc_hz, fractions

    @property
    def null_loop_ns(self) -> float | None:
        """The lowest any run measured: the loop's own cost, least disturbed."""
        return min(self.null_loops_ns) if self.null_loops_ns else None


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
        result.reads += _number(md, schema.READS)
        result.mismatches += _number(md, schema.MISMATCHES)
        if isinstance(md.get(schema.TSC_HZ), int) and md[schema.TSC_HZ] > 0:
            tsc_rates.append(md[schema.TSC_HZ])
        if run.values and isinstance(md.get(schema.NULL_LOOP_NS), (int, float)):
            result.null_loops_ns.append(float(md[schema.NULL_LOOP_NS]))
        result.add_histograms(histograms_from_metadata(md))
    if tsc_rates:
        result.tsc_hz = round(statistics.median(tsc_rates))
    return result


def _legacy_totals(bench: pyperf.Benchmark) -> Totals:
    md = bench.get_metadata()
    result = Totals(reads=_number(md, schema.READS), mismatches=_number(md, schema.MISMATCHES), sessions=[LEGACY_SESSION])
    if isinstance(md.get(schema.TSC_HZ), int):
        result.tsc_hz = md[schema.TSC_HZ]
    if isinstance(md.get(schema.NULL_LOOP_NS), (int, float)):
        result.null_loops_ns.append(float(md[schema.NULL_LOOP_NS]))
    result.add_histograms(histograms_from_metadata(md))
    return result
