"""Build cfgbench result files with pyperf's own API: deterministic values with known differences.

Everything here is synthetic: seeded numpy noise around chosen means, with the
metadata keys of docs/design.md, so tests of compare and plot need no hardware.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyperf

from cfgbench.schema import DIST_CYCLES, DIST_OVERHEAD_CYCLES
from cfgbench.histogram import LogHistogram

HOST_BRIDGE = "read 0000:00:00.0+0x000/4"
HOST_BRIDGE_EXT = "read 0000:00:00.0+0x100/4"
TARGETS = (HOST_BRIDGE, HOST_BRIDGE_EXT)

# Environments seen in the field notes, as cfgbench's metadata would record them.
LAB_TCG: dict[str, Any] = {
    "cfgbench_environment": "guest",
    "cfgbench_hypervisor": "TCGTCGTCGTCG",
    "cfgbench_lab_accel": "tcg",
    "cfgbench_lab_qemu": "7.2.0",
    "cfgbench_lab_machine": "q35",
    "cfgbench_lab_kernel": "6.1.0-28-amd64",
    "cfgbench_lab_cmdline": "console=ttyS0 iomem=relaxed",
    "cfgbench_kernel_release": "6.1.0-28-amd64",
    "cfgbench_cpu_model": "QEMU Virtual CPU version 2.5+",
    "cfgbench_dmi_vendor": "QEMU",
    "cfgbench_dmi_product": "Standard PC (Q35 + ICH9, 2009)",
}
LAB_KVM = LAB_TCG | {"cfgbench_lab_accel": "kvm", "cfgbench_hypervisor": "KVMKVMKVM"}
BARE_METAL: dict[str, Any] = {
    "cfgbench_environment": "bare-metal",
    "cfgbench_hypervisor": "none",
    "cfgbench_kernel_release": "6.8.0-45-generic",
    "cfgbench_cpu_model": "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz",
    "cfgbench_dmi_vendor": "Supermicro",
    "cfgbench_dmi_product": "SYS-120U-TNR",
}

KERNEL_PATH = {HOST_BRIDGE: "type1", HOST_BRIDGE_EXT: "ecam"}


def metadata_for(method: str, target: str, env: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """The per-benchmark metadata of docs/design.md for one target."""
    workload, _, address = target.partition(" ")
    metadata: dict[str, Any] = {
        "name": target,
        "unit": "second",
        "loops": 1024,
        "cfgbench_version": "0.1.0",
        "cfgbench_method": method,
        "cfgbench_workload": workload,
        "cfgbench_target": address,
        "cfgbench_value": "0x29c08086",
        "cfgbench_kernel_path": KERNEL_PATH.get(target, "type1"),
        "cfgbench_tsc_hz": 2_000_000_000,
        "cfgbench_null_loop_ns": 0.84,
        "cfgbench_reads": 1024 * 6,
        "cfgbench_mismatches": 0,
        "cpu_model_name": env.get("cfgbench_cpu_model", "unknown"),
        "platform": "Linux-6.1.0-28-amd64-x86_64-with-glibc2.36",
    }
    if method == "mmio":
        metadata["cfgbench_ecam_window"] = "segment 0 buses 00-ff at 0xb0000000"
    return metadata | dict(env) | extra


def read_histograms(median_ns: float, tsc_hz: int = 2_000_000_000, n: int = 10_000, seed: int = 0,
                    exit_every: int = 0) -> dict[str, str]:
    """Per-read histogram metadata as a run stores it: cycles per read, optionally a 10x 'VM exit' every Nth read."""
    rng = np.random.default_rng(seed)
    cycles = median_ns * 1e-9 * tsc_hz * (1 + 0.02 * rng.standard_normal(n))
    if exit_every:
        cycles[::exit_every] *= 10
    overhead = np.full(1000, 40.0)  # the timestamp pair
    return {DIST_CYCLES: LogHistogram.from_samples(cycles).to_json(),
            DIST_OVERHEAD_CYCLES: LogHistogram.from_samples(overhead).to_json()}


def noisy_values(mean_s: float, n: int = 30, rel_std: float = 0.01, seed: int = 0) -> np.ndarray:
    """n positive values around mean_s; the same seed gives the same noise, so shifts are exact."""
    rng = np.random.default_rng(seed)
    return mean_s * (1 + rel_std * rng.standard_normal(n))


def make_benchmark(values: Sequence[float], metadata: Mapping[str, Any], values_per_run: int = 3,
                   session: str | None = None) -> pyperf.Benchmark:
    """One pyperf benchmark; values are split into runs as worker processes would write them.

    With a session, the runs carry it and the rounds of their values, as the
    interleaved schedule writes them: files of one session pair by round."""
    chunks = [values[i:i + values_per_run] for i in range(0, len(values), values_per_run)]
    runs = []
    for index, chunk in enumerate(chunks):
        run_md = dict(metadata)
        if session is not None:
            first = index * values_per_run
            run_md.update(cfgbench_session=session, cfgbench_schedule="interleaved", cfgbench_process=index,
                          cfgbench_rounds=",".join(str(first + i) for i in range(len(chunk))))
        runs.append(pyperf.Run([float(v) for v in chunk], metadata=run_md, collect_metadata=False))
    return pyperf.Benchmark(runs)


def write_suite(path: Path, benchmarks: Sequence[pyperf.Benchmark]) -> Path:
    pyperf.BenchmarkSuite(list(benchmarks)).dump(str(path))
    return path


def write_result(path: Path, method: str, means: Mapping[str, float], env: Mapping[str, Any] = LAB_TCG,
                 n: int = 30, rel_std: float = 0.01, seed: int = 0,
                 values: Mapping[str, Sequence[float]] | None = None, session: str | None = None,
                 **extra: Any) -> Path:
    """A cfgbench result file: one benchmark per target, values around the given means (seconds).

    `values` overrides the generated values of some targets with exact ones.
    A session makes it one run of the interleaved schedule (see make_benchmark).
    """
    benchmarks = []
    for index, (target, mean) in enumerate(means.items()):
        target_values = (values or {}).get(target)
        if target_values is None:
            target_values = noisy_values(mean, n, rel_std, seed + index)
        benchmarks.append(make_benchmark(list(target_values), metadata_for(method, target, env, **extra),
                                         session=session))
    return write_suite(path, benchmarks)


def write_runs(path: Path, method: str, means: Mapping[str, float], runs: int, env: Mapping[str, Any] = LAB_TCG,
               n: int = 12, rel_std: float = 0.01, run_spread: float = 0.02, seed: int = 0,
               first_session: int = 0, **extra: Any) -> Path:
    """Several runs (sessions) of one method in one file, as --append gathers
    them: each run's level moves by `run_spread` (the run-to-run noise)."""
    rng = np.random.default_rng(seed + 1000)
    levels = 1 + run_spread * rng.standard_normal(runs)
    benchmarks = []
    for index, (target, mean) in enumerate(means.items()):
        metadata = metadata_for(method, target, env, **extra)
        bench: pyperf.Benchmark | None = None
        for run, level in enumerate(levels):
            values = noisy_values(mean * level, n, rel_std, seed + 100 * run + index)
            part = make_benchmark(list(values), metadata, values_per_run=n,
                                  session=f"run-{first_session + run}")
            if bench is None:
                bench = part
            else:
                bench.add_runs(part)
        assert bench is not None
        benchmarks.append(bench)
    return write_suite(path, benchmarks)


def split_benchmark(method: str, target: str, access: str, label: str, role: str, mechanism: str,
                    values: Sequence[float], env: Mapping[str, Any] = LAB_TCG, session: str | None = None,
                    values_per_run: int = 3) -> pyperf.Benchmark:
    """One access of a read timed alone, as the split workload records it
    (target: the read's `0000:00:00.0+0x000/4`, or the function alone for a
    per-function access such as the kernel floor)."""
    metadata = metadata_for(method, f"split {target} {access}", env, cfgbench_target=target, cfgbench_access=access,
                            cfgbench_access_label=label, cfgbench_access_role=role, cfgbench_mechanism=mechanism)
    return make_benchmark(list(values), metadata, values_per_run=values_per_run, session=session)


def read_benchmark(method: str, target: str, values: Sequence[float], env: Mapping[str, Any] = LAB_TCG,
                   session: str | None = None, values_per_run: int = 3) -> pyperf.Benchmark:
    """The whole read of `0000:00:00.0+0x000/4`."""
    return make_benchmark(list(values), metadata_for(method, f"read {target}", env), values_per_run=values_per_run,
                          session=session)


# The split workload's accesses as the methods record them: (access, label, role, mechanism).
ADDRESS_WRITE = ("address-write", "address write (0xCF8)", "part", "type 1")
DATA_READ = ("data-read", "data read (0xCFC)", "part", "type 1")
ADDRESS_READ = ("address-read", "address read (0xCF8)", "extra", "type 1")
LOAD = ("load", "load (ECAM)", "part", "ECAM")
FLOOR = ("floor", "kernel floor", "floor", "kernel")
