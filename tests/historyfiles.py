"""Result files of CI runs over time, built with pyperf's API: dated runs, sessions, hostnames.

A run's level moves by `run_noise` (a few % from run to run, as on real
machines: frequency, placement, interrupts) and its values by 1% around it.
Seeded, so every test sees the same history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyperf

from resultfiles import BARE_METAL, HOST_BRIDGE, HOST_BRIDGE_EXT, metadata_for

START = datetime(2026, 1, 5, 3, 17, 2)
# What one CI run times on bare metal (seconds per read): the figures of Kaher's post.
METAL_MEANS: dict[str, dict[str, float]] = {
    "pio": {HOST_BRIDGE: 433e-9},
    "mmio": {HOST_BRIDGE: 269e-9, HOST_BRIDGE_EXT: 271e-9},
    "kernel": {HOST_BRIDGE: 900e-9, HOST_BRIDGE_EXT: 880e-9},
}


def commit_for(index: int) -> str:
    return f"{index + 1:04x}" + "c0ffee" * 6


def run_file(path: Path, method: str, means: Mapping[str, float], date: datetime, hostname: str = "bm-1",
             env: Mapping[str, Any] = BARE_METAL, sessions: Sequence[str | None] = (None,), seed: int = 0,
             run_noise: float = 0.03, values_per_run: int = 3, runs_per_session: int = 4, **extra: Any) -> Path:
    """One file of one method: each session is a `cfgbench run` an hour after the one before."""
    rng = np.random.default_rng(seed)
    benchmarks = []
    for target, mean in means.items():
        runs = []
        for s, session in enumerate(sessions):
            level = mean * (1 + run_noise * rng.standard_normal())
            for r in range(runs_per_session):
                metadata = metadata_for(method, target, env, **extra) | {
                    "hostname": hostname, "date": (date + timedelta(hours=s, seconds=r)).isoformat(" ")}
                if session is not None:
                    metadata["cfgbench_session"] = session
                values = level * (1 + 0.01 * rng.standard_normal(values_per_run))
                runs.append(pyperf.Run([float(v) for v in values], metadata=metadata, collect_metadata=False))
        benchmarks.append(pyperf.Benchmark(runs))
    pyperf.BenchmarkSuite(benchmarks).dump(str(path))
    return path


def ci_runs(directory: Path, count: int, hostname: str = "bm-1", env: Mapping[str, Any] = BARE_METAL,
            step_at: int | None = None, step: float = 0.15, step_method: str = "pio", seed: int = 0,
            run_noise: float = 0.03, means: Mapping[str, Mapping[str, float]] = METAL_MEANS) -> list[list[Path]]:
    """`count` daily CI runs, one directory each with pio.json, mmio.json, kernel.json.

    From run `step_at` on, every target of `step_method` is `step` slower (+15%).
    """
    runs = []
    for i in range(count):
        run_dir = directory / f"run{i:02d}-{hostname}"
        run_dir.mkdir(parents=True)
        files = []
        for m, (method, targets) in enumerate(means.items()):
            factor = 1 + step if step_at is not None and i >= step_at and method == step_method else 1.0
            files.append(run_file(run_dir / f"{method}.json", method, {t: v * factor for t, v in targets.items()},
                                  START + timedelta(days=i, minutes=m), hostname, env, seed=seed * 1000 + i * 10 + m,
                                  run_noise=run_noise))
        runs.append(files)
    return runs
