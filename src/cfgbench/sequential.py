"""The sequential schedule: pyperf's own Runner times one benchmark after
another (`python -m cfgbench.worker`), with every pyperf option available.

Workers report what they saw besides time (reads, mismatches, per-read
histograms) through a tally file, one JSON line per process and benchmark; it
is added to the benchmark's last run of this session, where readers find it
(runs.py adds runs up)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyperf

from cfgbench import results
from cfgbench.errors import CfgbenchError
from cfgbench.histogram import LogHistogram
from cfgbench.measure import Plan, Tally, run_tally_metadata
from cfgbench.processes import INHERITED_ENV, run_worker_process
from cfgbench.worker import PROGRAM_ARGS

PLAN, TALLY, OUT = "plan.json", "tally.jsonl", "out.json"


@dataclass
class _Gathered:
    """What every process reported for one benchmark."""

    tally: Tally = field(default_factory=Tally)
    histogram: LogHistogram | None = None
    overhead: LogHistogram | None = None

    def add_row(self, row: dict[str, Any]) -> None:
        self.tally.merge(Tally(row["reads"], row["mismatches"], row["ns"], row["cycles"]))
        if "histogram" in row:
            incoming = LogHistogram.from_json(row["histogram"]), LogHistogram.from_json(row["overhead"])
            if self.histogram is None or self.overhead is None:
                self.histogram, self.overhead = incoming
            else:
                self.histogram.merge(incoming[0])
                self.overhead.merge(incoming[1])

    def metadata(self, method: str) -> dict[str, Any]:
        return run_tally_metadata(self.tally, self.histogram, self.overhead, method)


def _read_tallies(path: Path) -> dict[str, _Gathered]:
    gathered: dict[str, _Gathered] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            row = json.loads(line)
            gathered.setdefault(row["name"], _Gathered()).add_row(row)
    return gathered


def time_sequentially(plan: Plan, pyperf_args: Sequence[str], workdir: Path) -> pyperf.BenchmarkSuite:
    """Time the plan with pyperf's Runner in `python -m cfgbench.worker`."""
    plan.dump(workdir / PLAN)
    command = [
        sys.executable, *PROGRAM_ARGS, "--plan", str(workdir / PLAN), "--tally", str(workdir / TALLY),
        "-o", str(workdir / OUT),
        # pyperf hands workers a scrubbed environment; the raw-access guard must survive it.
        "--inherit-environ", ",".join(INHERITED_ENV), *pyperf_args,
    ]
    returncode = run_worker_process(command)
    if returncode != 0 or not (workdir / OUT).exists():
        raise CfgbenchError(
            f"the pyperf worker failed (exit code {returncode})",
            "see its output above; `cfgbench info` says whether the method can run here",
        )
    return finished_suite(workdir)


def finished_suite(workdir: Path) -> pyperf.BenchmarkSuite:
    """pyperf's file with each benchmark's tally on its last run."""
    suite = results.load_suite(workdir / OUT)
    gathered = _read_tallies(workdir / TALLY)
    benchmarks = [_with_tally(bench, gathered.get(bench.get_name())) for bench in suite.get_benchmarks()]
    return pyperf.BenchmarkSuite(benchmarks)


def salvage(workdir: Path) -> pyperf.BenchmarkSuite | None:
    """The benchmarks pyperf finished before an interruption, if its file is whole."""
    try:
        return finished_suite(workdir)
    except (CfgbenchError, ValueError):
        return None


def _with_tally(bench: pyperf.Benchmark, gathered: _Gathered | None) -> pyperf.Benchmark:
    if gathered is None:
        return bench
    runs = list(bench.get_runs())
    last = runs[-1]
    metadata = last.get_metadata()
    runs[-1] = pyperf.Run(last.values, warmups=last.warmups or None,
                          metadata={**metadata, **gathered.metadata(str(metadata.get("cfgbench_method", "")))},
                          collect_metadata=False)
    return pyperf.Benchmark(runs)
