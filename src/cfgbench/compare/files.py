"""Result files to compare: loading, their environment, short labels for tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyperf

from cfgbench.errors import CfgbenchError
from cfgbench.results import METHOD_KEY, bench_metadata, load_suite

# Metadata shown in the environment comparison: (metadata key, label).
ENV_KEYS: tuple[tuple[str, str], ...] = (
    (METHOD_KEY, "method"),
    ("cfgbench_environment", "environment"),
    ("cfgbench_hypervisor", "hypervisor"),
    ("cfgbench_lab_accel", "lab accel"),
    ("cfgbench_lab_kernel", "lab kernel"),
    ("cfgbench_lab_host_cpu", "lab host CPU"),
    ("cfgbench_lab_host_kernel", "lab host kernel"),
    ("cfgbench_lab_host", "lab host"),
    ("cfgbench_kernel_release", "kernel release"),
    ("cfgbench_cpu_model", "CPU"),
    ("cfgbench_dmi_product", "machine"),
    ("cfgbench_version", "cfgbench version"),
)

# Short attributes that tell apart two files of the same method, best first:
# a reader recognises "kvm" or "guest" faster than a file name.
DISTINGUISHING_ENV = ("lab accel", "environment", "hypervisor", "kernel release", "lab host",
                      "lab kernel", "machine", "CPU", "cfgbench version")


def _load_cfgbench_suite(path: str) -> pyperf.BenchmarkSuite:
    """load_suite, and refuse pyperf files that cfgbench did not write."""
    suite = load_suite(path)
    for bench in suite.get_benchmarks():
        if METHOD_KEY not in bench_metadata(bench):
            raise CfgbenchError(
                f"{path} is a pyperf file but not a cfgbench result "
                f"(benchmark {bench.get_name()!r} has no {METHOD_KEY} metadata)",
                "give files written by cfgbench run; compare other pyperf files with python -m pyperf compare_to",
            )
    return suite


@dataclass(frozen=True)
class ResultFile:
    """One loaded result file, its environment and a short label for tables."""

    path: str
    benchmarks: dict[str, pyperf.Benchmark]
    env: dict[str, str]
    label: str = ""


def _file_env(benchmarks: Sequence[pyperf.Benchmark]) -> dict[str, str]:
    """ENV_KEYS label -> value over every run of the file; distinct values are joined."""
    metadatas = [run.get_metadata() for bench in benchmarks for run in bench.get_runs()]
    env: dict[str, str] = {}
    for key, label in ENV_KEYS:
        values = {str(md[key]) for md in metadatas if key in md}
        if key == "cfgbench_cpu_model" and not values:
            values = {str(md["cpu_model_name"]) for md in metadatas if "cpu_model_name" in md}
        if values:
            env[label] = ", ".join(sorted(values))
    return env


def load_result_file(path: str) -> ResultFile:
    suite = _load_cfgbench_suite(path)
    benchmarks = {bench.get_name(): bench for bench in suite.get_benchmarks()}
    return ResultFile(path=path, benchmarks=benchmarks, env=_file_env(list(benchmarks.values())))


def _path_tail(path: str, depth: int) -> str:
    """The last `depth` components of a path, without .json/.json.gz: `baseline/pio`."""
    parts = Path(path.removesuffix(".gz").removesuffix(".json")).parts
    return "/".join(parts[-depth:])


def _distinguisher(index: int, group: list[int], files: Sequence[ResultFile]) -> str:
    for label in DISTINGUISHING_ENV:
        values = [files[j].env.get(label) for j in group]
        if None not in values and len(set(values)) == len(values):
            return str(values[group.index(index)])
    # Then the file name, with as many parent directories as it takes (baseline/pio, run/pio).
    for depth in range(1, 4):
        names = [_path_tail(files[j].path, depth) for j in group]
        if len(set(names)) == len(names):
            return names[group.index(index)]
    return f"file {index + 1}"


def label_files(files: Sequence[ResultFile]) -> list[ResultFile]:
    """Label each file by its method, plus a distinguishing attribute when methods coincide."""
    methods = [f.env.get("method", "?") for f in files]
    labelled = []
    for index, (result, method) in enumerate(zip(files, methods, strict=True)):
        group = [j for j, other in enumerate(methods) if other == method]
        label = method if len(group) == 1 else f"{method} ({_distinguisher(index, group, files)})"
        labelled.append(ResultFile(result.path, result.benchmarks, result.env, label))
    return labelled


def load_result_files(paths: Sequence[str]) -> list[ResultFile]:
    """Load and label the files; the first one is the reference."""
    return label_files([load_result_file(path) for path in paths])
