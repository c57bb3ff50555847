"""Result files to compare: loading, their environment, short labels for tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyperf

from cfgbench import runs
from cfgbench.errors import CfgbenchError
from cfgbench.results import load_suite
from cfgbench.schema import METHOD, is_cfgbench

# What tells apart two files of one method, best first: a reader knows "kvm" faster than a file name.
DISTINGUISHING_ENV = ("lab accel", "kernel order", "environment", "hypervisor", "kernel release", "lab host",
                      "lab kernel", "machine", "CPU", "cfgbench version")


@dataclass(frozen=True)
class ResultFile:
    path: str
    benchmarks: dict[str, pyperf.Benchmark]
    env: dict[str, str]
    label: str = ""


def load_result_file(path: str) -> ResultFile:
    """A result file; a pyperf file that cfgbench did not write is refused."""
    benchmarks = {bench.get_name(): bench for bench in load_suite(path).get_benchmarks()}
    for name, bench in benchmarks.items():
        if not is_cfgbench(bench):
            raise CfgbenchError(f"{path} is a pyperf file but not a cfgbench result (benchmark {name!r} has no {METHOD} "
                                "metadata)",
                                "give files written by cfgbench run; compare other pyperf files with python -m pyperf compare_to")
    return ResultFile(path=path, benchmarks=benchmarks, env=runs.environment(benchmarks.values()))


def _path_tail(path: str, depth: int) -> str:
    """`baseline/pio`: the last `depth` components, without .json or .json.gz."""
    parts = Path(path.removesuffix(".gz").removesuffix(".json")).parts
    return "/".join(parts[-depth:])


def _distinguisher(index: int, group: list[int], files: Sequence[ResultFile]) -> str:
    for label in DISTINGUISHING_ENV:
        values = [files[j].env.get(label) for j in group]
        if None not in values and len(set(values)) == len(values):
            return str(values[group.index(index)])
    # Then the file name, with as many parent directories as it takes.
    for depth in range(1, 4):
        names = [_path_tail(files[j].path, depth) for j in group]
        if len(set(names)) == len(names):
            return names[group.index(index)]
    return f"file {index + 1}"


def label_files(files: Sequence[ResultFile]) -> list[ResultFile]:
    """By method, plus a distinguishing attribute when methods coincide."""
    methods = [f.env.get("method", "?") for f in files]
    labelled = []
    for index, (result, method) in enumerate(zip(files, methods, strict=True)):
        group = [j for j, other in enumerate(methods) if other == method]
        label = method if len(group) == 1 else f"{method} ({_distinguisher(index, group, files)})"
        labelled.append(ResultFile(result.path, result.benchmarks, result.env, label))
    return labelled


def load_result_files(paths: Sequence[str]) -> list[ResultFile]:
    """The first one is the reference."""
    return label_files([load_result_file(path) for path in paths])


def files_of(suites: Mapping[str, pyperf.BenchmarkSuite]) -> list[ResultFile]:
    """A run's suites (method -> suite) as the files they are saved to."""
    return label_files([ResultFile(method, {b.get_name(): b for b in suite.get_benchmarks()},
                                   runs.environment(suite.get_benchmarks())) for method, suite in suites.items()])
