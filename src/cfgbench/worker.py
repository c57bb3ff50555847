"""The sequential schedule's pyperf program: `python -m cfgbench.worker --plan P --tally T [pyperf options]`.

pyperf re-executes its program for every worker process, so this entry point
is separate from the click CLI (a Runner inside a click command would reject
click's arguments)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pyperf

from cfgbench.access.base import ConfigAccessor
from cfgbench.errors import CfgbenchError
from cfgbench.measure import Plan, TimedMeasurement, measurement_metadata, null_loop_ns, process_metadata
from cfgbench.runs import FLOOR_KEY, SCHEDULE_KEY

PROGRAM_ARGS = ("-m", "cfgbench.worker")


def _forward_own_args(cmd: list[str], args: Any) -> None:
    cmd.extend(["--plan", args.plan, "--tally", args.tally])


def _append_tally(path: str, name: str, timed: TimedMeasurement) -> None:
    """One line per process and benchmark; the runner adds them up."""
    if not timed.tally.reads:
        return  # this process did not time this benchmark (pyperf's manager)
    row: dict[str, Any] = {"name": name, **vars(timed.tally)}
    if timed.histogram is not None and timed.overhead is not None:
        row["histogram"] = timed.histogram.to_json()
        row["overhead"] = timed.overhead.to_json()
    with open(path, "a") as tally:
        tally.write(json.dumps(row) + "\n")


def main(argv: list[str] | None = None) -> int:
    try:
        _run(argv)
    except CfgbenchError as exc:
        print(f"cfgbench worker: error: {exc.one_line()}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # pyperf's manager when a worker process failed
        print(f"cfgbench worker: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _run(argv: list[str] | None) -> None:
    runner = pyperf.Runner(program_args=PROGRAM_ARGS, add_cmdline_args=_forward_own_args)
    runner.argparser.add_argument("--plan", required=True, help="measurement plan (JSON, written by cfgbench run)")
    runner.argparser.add_argument("--tally", required=True, help="file to append read and mismatch counts to")
    args = runner.parse_args(argv)
    plan = Plan.load(Path(args.plan))

    runner.metadata.update(process_metadata(plan))
    runner.metadata[SCHEDULE_KEY] = "sequential"
    if args.worker or args.in_process:  # the floor of each process that times (not pyperf's manager)
        runner.metadata[FLOOR_KEY] = round(null_loop_ns(), 3)

    accessors: dict[str, ConfigAccessor] = {}
    timed_all: list[tuple[str, TimedMeasurement]] = []
    try:
        for m in plan.measurements:
            name = plan.bench_name(m)
            timed = TimedMeasurement(m, accessors)
            timed_all.append((name, timed))
            runner.bench_time_func(name, timed, metadata=measurement_metadata(m))
            if plan.samples:
                timed.sample(plan.samples)  # after pyperf's values, so it cannot disturb them
    finally:
        for name, timed in timed_all:
            _append_tally(args.tally, name, timed)
        for accessor in accessors.values():
            accessor.close()


if __name__ == "__main__":
    sys.exit(main())
