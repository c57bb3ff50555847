"""The kernel's enumeration, host side: the census boot, and the lines that put census, A/B and read costs together."""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyperf

from cfgbench import access
from cfgbench.lab.census import Census, Window
from cfgbench.lab.enumeration import ACCESSOR_TIMES, CANDIDATE, REFERENCE, cold_paths
from cfgbench.errors import LabError, Progress
from cfgbench.lab.guest import GuestConfig, run_in_guest
from cfgbench.lab.initramfs import GUEST_OUT
from cfgbench.lab.qemu import find_tree
from cfgbench.results import load_suite
from cfgbench.compare.model import RESCAN, Report
from cfgbench.schema import RESCAN_FUNCTIONS, TARGET
from cfgbench.document import format_time

CENSUS_NAME = "census.json"
KERNEL_COUNTS = "kernel-counts.json"
# The per-read difference comes from the cold pattern of the lab's job, timed in the same boots.
COLD_WORKLOAD = "peer-probe"
HOT_READ = "read 0000:01:00.0+0x000/4"  # what labs before the cold pattern priced reads at


def census_boot(cfg: GuestConfig, outdir: Path, progress: Progress,
                output: Callable[[str], object] | None = None) -> Census:
    """Boot a census guest of cfg's tree, mark one rescan per order, and keep the census with the kernel's counts."""
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
    type1_writes: int
    read_extra_s: float  # an ECAM read less a type 1 read (medians, the cold pattern, the same boots)
    read_source: str  # where read_extra_s comes from, e.g. 'peer-probe 00-ff'
    write_extra_s: float | None  # one rescan's writes, ECAM only less type 1 first (in situ); None: not timed
    write_rescans: int  # traced rescans per order behind write_extra_s
    agree: bool  # QEMU's count and the guest kernel's of the marked rescans

    @property
    def per_write_s(self) -> float:
        """What an ECAM write costs more than a type 1 write; without in-situ times, a read's difference."""
        if self.write_extra_s is None or not self.type1_writes:
            return self.read_extra_s
        return self.write_extra_s / self.type1_writes

    @property
    def projection(self) -> float:
        extra = self.type1_reads * self.read_extra_s + self.type1_writes * self.per_write_s
        return 1 - extra / self.ecam_only_s

    @property
    def projection_inside(self) -> bool:
        return self.low is not None and self.high is not None and self.low <= self.projection <= self.high


def write_extra(rows: list[dict[str, Any]]) -> tuple[float, int] | None:
    """What one rescan's writes cost more ECAM only, write against write by medians, and the rescans behind it."""
    calls = {order: [row["calls"] for row in rows if row["order"] == order and "calls" in row]
             for order in (REFERENCE, CANDIDATE)}
    if not all(calls.values()) or len({len(c) for found in calls.values() for c in found}) != 1:
        return None
    medians = {order: [statistics.median(c[k][1] for c in found) for k in range(len(found[0]))]
               for order, found in calls.items()}
    writes = [k for k, (key, _) in enumerate(calls[REFERENCE][0]) if key.endswith("write")]
    return (sum(medians[CANDIDATE][k] - medians[REFERENCE][k] for k in writes),
            min(len(found) for found in calls.values()))


def _type1_first_window(census: Census) -> Window:
    return next(w for w in census.windows if w.label.endswith(REFERENCE))


def _agree(census: Census, outdir: Path) -> bool:
    rows = json.loads((outdir / KERNEL_COUNTS).read_text()) if (outdir / KERNEL_COUNTS).exists() else []
    windows = {w.index: w for w in census.windows}
    return bool(rows) and all(not windows[row["window"]].tally.disagreement(row["kernel_counts"]) for row in rows)


def rescan_answer(outdir: Path, report: Report, census: Census, suites: dict[str, pyperf.BenchmarkSuite]
                  ) -> RescanAnswer | None:
    """The A/B (the report's rescan row) and its projection (the in-situ times of every boot); None without them."""
    rows = report.rows(RESCAN)
    cold = _cold_suites(outdir) or suites  # older labs had no cold pattern: one register's reads, hot
    if not rows or not set(access.MECHANISMS) <= set(cold):
        return None
    e = rows[0].estimate.inverted()  # type 1 first over ECAM only
    type1_first, ecam_only = (f.benchmarks[rows[0].target] for f in report.files if rows[0].target in f.benchmarks)
    pio_cold, mmio_cold = (([b for b in cold[m].get_benchmarks() if b.get_name().startswith(COLD_WORKLOAD)]
                            or [cold[m].get_benchmark(HOT_READ)])[0] for m in access.MECHANISMS)
    in_situ = [row for path in sorted(outdir.rglob(ACCESSOR_TIMES)) for row in json.loads(path.read_text())]
    write_extra_s, write_rescans = write_extra(in_situ) or (None, 0)
    md, window = type1_first.get_metadata(), _type1_first_window(census).tally
    return RescanAnswer(str(md[TARGET]), int(md[RESCAN_FUNCTIONS]), type1_first.median(), ecam_only.median(),
                        e.ratio, e.low, e.high, e.rests_on(), window.count("type1", "read"),
                        window.count("type1", "write"), mmio_cold.median() - pio_cold.median(),
                        pio_cold.get_name().replace(" 0000:", " "), write_extra_s, write_rescans, _agree(census, outdir))


def _cold_suites(outdir: Path) -> dict[str, pyperf.BenchmarkSuite]:
    paths = dict(zip(access.MECHANISMS, cold_paths(outdir), strict=True))
    return {m: load_suite(path) for m, path in paths.items()} if all(p.exists() for p in paths.values()) else {}


def answer_lines(answer: RescanAnswer | None, census: Census | None) -> list[str]:
    """The lab's lines on the kernel's enumeration, after the per-read answer."""
    lines = []
    if answer is not None:
        interval = (f"95% CI {answer.low:.3f}-{answer.high:.3f}, {answer.rests_on}"
                    if answer.low is not None and answer.high is not None else answer.rests_on)
        where = "inside" if answer.projection_inside else "OUTSIDE"
        writes = (f"in situ: each write's median over {answer.write_rescans} traced rescans per order, against the same "
                  "write of the other; how far that moves between boots: results/enumeration/README.md"
                  if answer.write_extra_s is not None else "assumed: as a read; cfgbench lab --in-situ times them")
        lines.append(
            f"rescan of {answer.port.removeprefix('0000:')} ({answer.functions} function"
            f"{'s' * (answer.functions != 1)} below it): type 1 first took "
            f"{answer.ratio:.3f}x ECAM only ({interval}; medians {format_time(answer.type1_first_s)} against "
            f"{format_time(answer.ecam_only_s)}); projected {answer.projection:.4f}x, {where} the interval, from "
            f"{answer.type1_reads:,} type 1 reads at {format_time(answer.read_extra_s, signed=True)} each (ECAM less "
            f"type 1, {'cold' if answer.read_source.startswith(COLD_WORKLOAD) else 'hot'}: {answer.read_source}) and {answer.type1_writes:,} type 1 writes at "
            f"{format_time(answer.per_write_s, signed=True)} each ({writes})")
    if census is not None:
        boot, window = census.phases["boot"], _type1_first_window(census)
        lines.append(f"census (QEMU): the kernel's boot made {boot.reads:,} config reads ({boot.count('type1', 'read'):,} "
                     f"type 1) and {boot.writes:,} writes; one rescan {window.tally.reads:,} reads "
                     f"({window.tally.count('type1', 'read'):,} type 1) and {window.tally.writes:,} writes"
                     + ("" if answer is None else "; the guest kernel's own count "
                        + ("agrees" if answer.agree else "DIFFERS (see census.json, kernel-counts.json)")))
    return lines
