"""The lab's main job: time pio, mmio and kernel reads in the guest, interleaved, compare on the host.

Host side: `main_job()` boots the guest (`--boots N` times, one after another)
and prints one headline per target. Guest side: `python -m cfgbench.lab.measure`
(run by main_job inside each guest) times every method on every target in one
interleaved `cfgbench run` plan, in this very process, and writes
lab-<method>.json to the share. Every boot is its own run (session) in those
files; the headline's interval spans the boots when there are several.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cfgbench.errors import CfgbenchError
from cfgbench.lab.guest import GuestConfig, Progress, run_in_guest
from cfgbench.lab.qemu import PCIE_TARGET_BDF
from cfgbench.results import make_output_dir

METHODS = ("pio", "mmio", "kernel")  # pio first: the comparison's reference
# Host bridge (type 1 and ECAM both reach it), and the PCIe function below the root port at
# offset 0 and at 0x100, which only ECAM reaches (the kernel uses ECAM there too).
TARGETS = (("0000:00:00.0", 0x000), (PCIE_TARGET_BDF, 0x000), (PCIE_TARGET_BDF, 0x100))
WIDTH = 4
# The kernel's enumeration in this guest: bus 0 and the root port's secondary bus 1
# (a scan of all 256 buses of the window, `cfgbench run --workload scan`, takes ~25 s here).
# split: each read target's accesses alone (type 1's address write, data read
# and address read, ECAM's load, the kernel's floor), paired with the read by round.
WORKLOADS = ("read", "scan", "sweep", "split")
SCAN_BUSES = range(0x00, 0x02)
RESULT_NAME = "lab-{method}.json"
# What results/README.md measured across boots, for a one-boot headline to say.
# Measured: 14 boots of the same register gave ratios 1.82-2.05x (00:00.0) and 1.58-1.88x
# (01:00.0), where one boot's interval is about +-4-8% (results/lab-interleaved, lab-boots).
BETWEEN_BOOTS_NOTE = ("boots differed by more than that when measured (14 boots: one register's ratio "
                      "spread 12-19%, results/README.md): `cfgbench lab --boots 3` puts the boot-to-boot "
                      "spread in the interval")


@dataclass(frozen=True)
class LabSettings:
    """The guest's timing settings. One process (Python starts slowly under TCG
    with a 9p root); many short rounds rather than a few long values: the pairs
    carry the answer. A value of ~3 ms (calibrated per benchmark) averages over
    timer interrupts (1024 reads, ~0.2 ms, let one interrupt make a 30-50%
    outlier). 32 rounds of 3 ms gave 95% intervals of +-6-10% in 23-24 s of
    wall time here; 24 of 4 ms +-7-12%, 48 of 2 ms +-6-7% but up to 36 s."""

    values: int = 32  # rounds
    min_time: float = 0.003  # seconds per value when calibrating
    loops: int = 0  # reads per value; 0: calibrate
    boots: int = 1
    quiet: bool = False
    schedule: str = "interleaved"  # or "sequential": pyperf's own order, for comparison

    def guest_args(self) -> list[str]:
        args = ["--values", str(self.values), "--min-time", str(self.min_time), "--schedule", self.schedule]
        return args + (["--loops", str(self.loops)] if self.loops else [])

    def describe(self) -> str:
        loops = f"{self.loops} reads per value" if self.loops else f"reads per value calibrated to {self.min_time * 1e3:g} ms"
        rounds = "interleaved rounds" if self.schedule == "interleaved" else "values per benchmark, sequentially"
        return f"{self.values} {rounds} in one process per boot, {loops}"

    def pyperf_args(self) -> list[str]:
        """The same settings for pyperf's own (sequential) schedule."""
        loops = ["--loops", str(self.loops)] if self.loops else ["--min-time", str(self.min_time)]
        return ["--in-process", "--values", str(self.values), "--warmups", "1", "--quiet", *loops]


def result_paths(outdir: Path) -> list[Path]:
    return [outdir / RESULT_NAME.format(method=method) for method in METHODS]


def guest_main(argv: Sequence[str] | None = None) -> int:
    """Runs in the guest (python -m cfgbench.lab.measure [--values N ...])."""
    from cfgbench import interleave, runner  # guest-only import: pyperf and the accessors
    from cfgbench.address import parse_bdf
    from cfgbench.lab.environment import OUT_VAR, in_lab_guest

    parser = argparse.ArgumentParser(prog="python -m cfgbench.lab.measure")
    parser.add_argument("--values", type=int, default=LabSettings.values)
    parser.add_argument("--min-time", type=float, default=LabSettings.min_time)
    parser.add_argument("--loops", type=int, default=0)
    parser.add_argument("--schedule", choices=("interleaved", "sequential"), default="interleaved")
    args = parser.parse_args(argv)
    settings = LabSettings(values=args.values, min_time=args.min_time, loops=args.loops, schedule=args.schedule)
    if not in_lab_guest():
        print("cfgbench: error: this is the lab guest's job: run `cfgbench lab` instead", file=sys.stderr)
        return 2
    out = Path(os.environ[OUT_VAR])
    options = runner.RunOptions(
        methods=list(METHODS),
        targets=[runner.Target(parse_bdf(bdf), offset, WIDTH) for bdf, offset in TARGETS],
        output=out / RESULT_NAME,
        schedule=settings.schedule,
        settings=interleave.Settings(processes=1, values=settings.values, warmups=1, loops=settings.loops,
                                     min_time=settings.min_time, in_process=True, quiet=True),
        pyperf_args=settings.pyperf_args(),
        workloads=WORKLOADS,
        buses=SCAN_BUSES,
    )

    def progress(line: str) -> None:
        print(f"cfgbench: {line}", file=sys.stderr, flush=True)

    try:
        runner.run(options, progress)
    except CfgbenchError as exc:
        progress(f"error: {exc.one_line()}")
        return 2
    return 0


def default_outdir() -> Path:
    return Path(f"cfgbench-lab-{time.strftime('%Y%m%d-%H%M%S')}")


def _boot_dirs(outdir: Path, boots: int) -> list[Path]:
    return [outdir] if boots == 1 else [outdir / f"boot-{k}" for k in range(1, boots + 1)]


def _refuse_existing(outdir: Path, boots: int) -> None:
    for directory in {outdir, *_boot_dirs(outdir, boots)}:
        for path in result_paths(directory):
            if path.exists():
                raise CfgbenchError(f"{path} already exists", "choose another --out directory")


def _merge_boots(outdir: Path, boots: int) -> None:
    """lab-<method>.json over all boots: each boot's runs are a session of their own."""
    from cfgbench import results

    for method in METHODS:
        parts = [directory / RESULT_NAME.format(method=method) for directory in _boot_dirs(outdir, boots)]
        for part in parts:
            if part.exists():
                results.save_suite(results.load_suite(part), outdir / RESULT_NAME.format(method=method), append=True)


def main_job(cfg: GuestConfig, progress: Progress, outdir: Path | None = None,
             output: Callable[[str], object] = sys.stderr.write, settings: LabSettings = LabSettings(),
             say: Callable[[str], object] = print) -> int:
    """Boot the guest(s), time the methods there, print the headline; the exit code."""
    from cfgbench import breakdown
    from cfgbench.compare import headline as headlines
    from cfgbench.results import load_suite

    outdir = outdir or default_outdir()
    make_output_dir(outdir)
    _refuse_existing(outdir, settings.boots)
    started = time.monotonic()
    boot_times = []
    for k, directory in enumerate(_boot_dirs(outdir, settings.boots), 1):
        if settings.boots > 1:
            progress(f"boot {k} of {settings.boots}")
        result = run_in_guest([sys.executable, "-m", "cfgbench.lab.measure", *settings.guest_args()], cfg,
                              outdir=directory, progress=progress, output=output)
        if result.returncode != 0:
            raise CfgbenchError(f"the measurement in the guest failed (exit code {result.returncode})",
                                "see the guest output above")
        boot_times.append(result.boot_seconds)
    if settings.boots > 1:
        _merge_boots(outdir, settings.boots)
    suites = {path.stem.removeprefix("lab-"): load_suite(path) for path in result_paths(outdir) if path.exists()}
    context = headlines.HeadlineContext(
        unit="boot", accel=result.lab_metadata["accel"], between_units_note=BETWEEN_BOOTS_NOTE,
        values_advice="record more rounds (cfgbench lab --values N) or boots (--boots N)")
    for line in headlines.headline(suites, context) + breakdown.suites_lines(suites):
        say(line)
    say(f"lab: {result.lab_metadata['machine']} guest under {result.lab_metadata['accel']}, "
          f"QEMU {result.lab_metadata['qemu']}, kernel {result.lab_metadata['kernel']}; {settings.describe()}; "
          f"{settings.boots} boot(s) of {', '.join(f'{t:.1f}' for t in boot_times)} s, "
          f"total {time.monotonic() - started:.1f} s")
    say(f"the full tables: cfgbench compare {' '.join(str(p) for p in result_paths(outdir) if p.exists())}")
    return 0


if __name__ == "__main__":
    sys.exit(guest_main())
