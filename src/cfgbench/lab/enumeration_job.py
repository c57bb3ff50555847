"""The lab job's part for the kernel's own enumeration, host side: the census boot, and the
answer lines that put the census, the rescan A/B and the per-read costs together.

The census boot (one vCPU, QEMU tracing every config access, lab/census.py) marks one rescan
of the tree's port per order; the timing boots time the A/B after the per-read benchmarks
(lab/enumeration.py, guest side). The projection says what the A/B should find if a rescan
differed only by its config reads: the type 1 reads of one rescan (the census) times the
per-read difference between type 1 and ECAM (the two mechanisms' reads of 01:00.0, timed in
the same boots), over the ECAM-only rescan time."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyperf

from cfgbench import access
from cfgbench.lab.census import Census, Window
from cfgbench.lab.enumeration import REFERENCE
from cfgbench.lab.errors import LabError
from cfgbench.lab.guest import GuestConfig, Progress, run_in_guest
from cfgbench.lab.initramfs import GUEST_OUT
from cfgbench.lab.qemu import find_tree
from cfgbench.compare.model import RESCAN, Report
from cfgbench.schema import RESCAN_FUNCTIONS, TARGET

CENSUS_NAME = "census.json"
KERNEL_COUNTS = "kernel-counts.json"
# The per-read difference comes from this read of the lab's job (the e1000e below the default
# tree's root port, in every tree): both methods time it in the same boots as the rescans.
PER_READ_TARGET = "read 0000:01:00.0+0x000/4"


def census_boot(cfg: GuestConfig, outdir: Path, progress: Progress,
                output: Callable[[str], object] | None = None) -> Census:
    """Boot a census guest of cfg's tree, mark one rescan per order (type 1 first, ECAM only,
    type 1 first again), and keep the census with the guest kernel's own counts in outdir."""
    port = find_tree(cfg.tree).rescan_port
    census_cfg = GuestConfig(accel=cfg.accel, kernel=cfg.kernel, timeout_s=cfg.timeout_s, tree=cfg.tree, smp=1,
                             pci_order_module=True, census=True)
    argv = [sys.executable, "-m", "cfgbench.lab.enumeration", "census", "--port", port, "--out", GUEST_OUT]
    result = run_in_guest(argv, census_cfg, outdir=outdir, progress=progress, output=output,
                          purpose="for the census")
    if result.returncode != 0 or result.census is None:
        raise LabError(f"the census guest failed (exit code {result.returncode})", "see the guest output above")
    (outdir / CENSUS_NAME).write_text(json.dumps(result.census.to_json()))
    return result.census


@dataclass(frozen=True)
class RescanAnswer:
    """What one lab says about the kernel's enumeration of its tree's port."""

    port: str
    functions: int
    type1_first_s: float  # medians per rescan
    ecam_only_s: float
    ratio: float  # type 1 first / ECAM only, paired by round
    low: float | None
    high: float | None
    rests_on: str  # '16 paired rounds', or with several boots '3 runs of 48 paired rounds in all'
    type1_reads: int  # of one rescan, type 1 first (the census)
    per_read_s: float  # a type 1 read less an ECAM read (medians, the same boots)
    agree: bool  # QEMU's count and the guest kernel's of the marked rescans

    @property
    def projection(self) -> float:
        return 1 + self.type1_reads * self.per_read_s / self.ecam_only_s

    @property
    def projection_inside(self) -> bool:
        return self.low is not None and self.high is not None and self.low <= self.projection <= self.high


def _type1_first_window(census: Census) -> Window:
    return next(w for w in census.windows if w.label.endswith(REFERENCE))


def _agree(census: Census, outdir: Path) -> bool:
    rows = json.loads((outdir / KERNEL_COUNTS).read_text()) if (outdir / KERNEL_COUNTS).exists() else []
    windows = {w.index: w for w in census.windows}
    return bool(rows) and all(not windows[row["window"]].tally.disagreement(row["kernel_counts"]) for row in rows)


def rescan_answer(outdir: Path, report: Report, census: Census, suites: dict[str, pyperf.BenchmarkSuite]
                  ) -> RescanAnswer | None:
    """The A/B (the report's rescan row) and its projection; None without them."""
    rows = report.rows(RESCAN)
    if not rows or not set(access.MECHANISMS) <= set(suites):
        return None
    e = rows[0].estimate.inverted()  # type 1 first over ECAM only
    type1_first, ecam_only = (f.benchmarks[rows[0].target] for f in report.files if rows[0].target in f.benchmarks)
    type1, ecam = (suites[m].get_benchmark(PER_READ_TARGET).median() for m in access.MECHANISMS)
    md = type1_first.get_metadata()
    return RescanAnswer(str(md[TARGET]), int(md[RESCAN_FUNCTIONS]), type1_first.median(), ecam_only.median(), e.ratio,
                        e.low, e.high, e.rests_on(), _type1_first_window(census).tally.count("type1", "read"),
                        type1 - ecam, _agree(census, outdir))


def answer_lines(answer: RescanAnswer | None, census: Census | None) -> list[str]:
    """The lab's lines on the kernel's enumeration, after the per-read answer."""
    from cfgbench.units import format_time

    lines = []
    if answer is not None:
        interval = (f"95% CI {answer.low:.3f}-{answer.high:.3f}, {answer.rests_on}"
                    if answer.low is not None and answer.high is not None else answer.rests_on)
        where = "inside" if answer.projection_inside else "OUTSIDE"
        lines.append(
            f"rescan of {answer.port.removeprefix('0000:')} ({answer.functions} function"
            f"{'s' * (answer.functions != 1)} below it): type 1 first took "
            f"{answer.ratio:.3f}x ECAM only ({interval}; {format_time(answer.type1_first_s)} against "
            f"{format_time(answer.ecam_only_s)}); projected from {answer.type1_reads:,} type 1 reads at "
            f"{format_time(answer.per_read_s)} more each: {answer.projection:.4f}x, {where} the interval")
    if census is not None:
        boot, window = census.phases["boot"], _type1_first_window(census)
        lines.append(f"census (QEMU): the kernel's boot made {boot.reads:,} config reads ({boot.count('type1', 'read'):,} "
                     f"type 1) and {boot.writes:,} writes; one rescan {window.tally.reads:,} reads "
                     f"({window.tally.count('type1', 'read'):,} type 1) and {window.tally.writes:,} writes"
                     + ("" if answer is None else "; the guest kernel's own count "
                        + ("agrees" if answer.agree else "DIFFERS (see census.json, kernel-counts.json)")))
    return lines
