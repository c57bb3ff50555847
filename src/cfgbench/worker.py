"""The pyperf program: `python -m cfgbench.worker --plan P --tally T [pyperf options]`.

pyperf re-executes its program for every worker process, so this entry point
is separate from the click CLI (a Runner inside a click command would reject
click's arguments)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pyperf

from cfgbench import __version__
from cfgbench.access.base import ConfigAccessor
from cfgbench.address import kernel_path_for
from cfgbench.errors import CfgbenchError
from cfgbench.measure import Plan, TimedRead, null_loop_ns
from cfgbench.platform import fingerprint

PROGRAM_ARGS = ("-m", "cfgbench.worker")


def _forward_own_args(cmd: list[str], args: Any) -> None:
    cmd.extend(["--plan", args.plan, "--tally", args.tally])


def _append_tally(path: str, name: str, timed: TimedRead) -> None:
    """One line per process and benchmark; the runner adds them up."""
    if timed.tally.reads:
        with open(path, "a") as tally:
            tally.write(json.dumps({"name": name, **vars(timed.tally)}) + "\n")


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

    runner.metadata.update(fingerprint().as_metadata())
    runner.metadata["cfgbench_version"] = __version__
    runner.metadata["cfgbench_null_loop_ns"] = round(null_loop_ns(), 3)
    runner.metadata.update(plan.metadata)

    accessors: dict[str, ConfigAccessor] = {}
    timed_reads: list[tuple[str, TimedRead]] = []
    try:
        for m in plan.measurements:
            name = plan.bench_name(m)
            timed = TimedRead(m, accessors)
            timed_reads.append((name, timed))
            metadata = {
                "cfgbench_method": m.method,
                "cfgbench_workload": m.workload,
                "cfgbench_target": m.target_label,
                "cfgbench_value": f"{m.expected:#0{2 + 2 * m.width}x}",
                "cfgbench_kernel_path": kernel_path_for(m.bdf, m.offset),
                **m.metadata,
            }
            runner.bench_time_func(name, timed, metadata=metadata)
    finally:
        for name, timed in timed_reads:
            _append_tally(args.tally, name, timed)
        for accessor in accessors.values():
            accessor.close()


if __name__ == "__main__":
    sys.exit(main())
