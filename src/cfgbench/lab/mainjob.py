"""The lab's main job: every method on the lab's targets in the guest, interleaved, compared on the host."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from cfgbench import access
from cfgbench.address import parse_bdf
from cfgbench.errors import CfgbenchError, Progress
from cfgbench.compare.headline import HeadlineContext, end_of_run
from cfgbench.compare.model import Report, report_of
from cfgbench.lab.enumeration import CANDIDATE, REFERENCE, cold_paths, time_ab, time_accessors, time_cold
from cfgbench.lab.enumeration import RESULT_NAME as RESCAN_NAME
from cfgbench.lab.enumeration_job import CENSUS_NAME, answer_lines, census_boot, rescan_answer
from cfgbench.lab.guest import GuestConfig, run_in_guest
from cfgbench.lab.qemu import PCIE_TARGET_BDF, find_tree
from cfgbench.plan import PlanRequest, Target
from cfgbench.platform import LAB_OUT_VAR, in_lab_guest
from cfgbench.results import load_suite, make_output_dir, save_suite
from cfgbench.session import RunRequest, run
from cfgbench.settings import PRESETS, Settings

# The host bridge, and the PCIe function below the root port at 0 and at 0x100 (which only ECAM reaches).
TARGETS = (("0000:00:00.0", 0x000), (PCIE_TARGET_BDF, 0x000), (PCIE_TARGET_BDF, 0x100))
WIDTH = 4
WORKLOADS = ("read", "scan", "sweep", "split")
TRACED_RESCANS = 8  # per order, after the A/B: their config accessors timed in situ (the projection's writes)
# The kernel's enumeration in this guest: bus 0 and the root port's secondary bus (not the window's 256 buses).
SCAN_BUSES = range(0x00, 0x02)
RESULT_NAME = "lab-{method}.json"
FIGURE_NAME = "lab.png"  # the answer figure, beside the files, when matplotlib is installed
# For a one-boot headline: what results/README.md measured across boots (lab-interleaved/, lab-boots/).
BETWEEN_BOOTS_NOTE = ("boots differed by more than that when measured (14 boots: one register's ratio "
                      "spread 12-19%, results/README.md): `cfgbench lab --boots 3` puts the boot-to-boot "
                      "spread in the interval")


@dataclass(frozen=True)
class LabJob:
    """What the lab times in each boot, and how many boots."""

    settings: Settings = field(default_factory=lambda: PRESETS["lab"])
    boots: int = 1
    tree: str = "default"  # the PCI functions the guest has (lab/qemu.py TREES)
    enumeration: bool = True  # the census boot, and the rescan A/B after the reads
    in_situ: bool = False  # also the cold pattern and traced rescans, which the projection's prices rest on

    @property
    def rescan_port(self) -> str | None:
        return find_tree(self.tree).rescan_port if self.enumeration else None

    def request(self) -> str:
        """What each timing guest does, as JSON: the run (its output relative to the share), the port to rescan."""
        targets = [Target(parse_bdf(bdf), offset, WIDTH) for bdf, offset in TARGETS]
        what = PlanRequest(methods=access.user_methods(), targets=targets, workloads=list(WORKLOADS), buses=SCAN_BUSES)
        request = RunRequest(what, self.settings, output=Path(RESULT_NAME)).to_json()
        return json.dumps({"run": json.loads(request), "rescan_port": self.rescan_port, "in_situ": self.in_situ})

    def describe(self) -> str:
        traced = f", the cold pattern, {TRACED_RESCANS} traced rescans per order" if self.in_situ else ""
        rescans = f"; the rescan A/B of 16 paired rounds{traced} and a census boot" if self.enumeration else ""
        return f"{self.tree} tree; {self.settings.describe()}{rescans}; {self.boots} boot(s)"


def result_paths(outdir: Path) -> list[Path]:
    return [outdir / RESULT_NAME.format(method=method) for method in access.user_methods()]


def rescan_paths(outdir: Path) -> list[Path]:
    return [outdir / RESCAN_NAME.format(order=order) for order in (REFERENCE, CANDIDATE)]


def enumeration_paths(outdir: Path) -> list[Path]:
    """The rescans' files and the cold pattern's: merged over boots as the methods' are."""
    return [*rescan_paths(outdir), *cold_paths(outdir)]


def guest_main(argv: Sequence[str] | None = None) -> int:
    """Runs in the guest: `python -m cfgbench.lab.mainjob JOB_JSON`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not in_lab_guest() or len(args) != 1:
        print("cfgbench: error: this is the lab guest's job: run `cfgbench lab` instead", file=sys.stderr)
        return 2

    def progress(line: str) -> None:
        print(f"cfgbench: {line}", file=sys.stderr, flush=True)

    try:
        job = json.loads(args[0])
        out = Path(os.environ[LAB_OUT_VAR])
        request = RunRequest.from_json(json.dumps(job["run"]))
        if request.output is not None:
            request.output = out / request.output
        run(request, progress)
        if job.get("rescan_port"):
            if not request.settings.quiet:
                progress(f"timing the rescans of {job['rescan_port']}: type 1 first against ECAM only")
            time_ab(job["rescan_port"], out)
            if job.get("in_situ"):
                time_accessors(job["rescan_port"], TRACED_RESCANS, out)
                time_cold(out, request.settings)
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
        for path in [*result_paths(directory), *enumeration_paths(directory), directory / FIGURE_NAME,
                     directory / CENSUS_NAME]:
            if path.exists():
                raise CfgbenchError(f"{path} already exists", "choose another --out directory")


def merge_boots(outdir: Path, boots: int) -> None:
    """lab-<method>.json over all boots: each boot's runs are a session of their own."""
    for name in (p.name for p in [*result_paths(outdir), *enumeration_paths(outdir)]):
        for directory in _boot_dirs(outdir, boots):
            if (directory / name).exists():
                save_suite(load_suite(directory / name), outdir / name, append=True)


def headline_context(accel: str) -> HeadlineContext:
    return HeadlineContext(unit="boot", accel=accel, between_units_note=BETWEEN_BOOTS_NOTE,
                           values_advice="record more rounds (cfgbench lab --values N) or boots (--boots N)",
                           details_hint="`cfgbench lab -v` lists each, as does cfgbench compare")


def _figure_line(report: Report, path: Path) -> str:
    """Draw the answer figure, and say where it is or why there is none (that does not fail the lab)."""
    from cfgbench import plot

    if not plot.matplotlib_available():
        return f"figure: none, matplotlib is not installed ({plot.PLOT_EXTRA})"
    try:
        written = plot.save_answer(report, path)
    except CfgbenchError as exc:
        return f"figure: none, {exc.one_line()}"
    return f"figure: {path}" + (f" (left out: {'; '.join(written.left_out)})" if written.left_out else "")


def main_job(cfg: GuestConfig, progress: Progress, outdir: Path | None = None,
             output: Callable[[str], object] = sys.stderr.write, job: LabJob = LabJob(),
             say: Callable[[str], object] = print, verbose: bool = True, figure: bool = True) -> int:
    """Boot the guest(s), time the methods there, print the end of the run and write the answer figure; the exit code."""
    outdir = outdir or default_outdir()
    make_output_dir(outdir)
    _refuse_existing(outdir, job.boots)
    started = time.monotonic()
    cfg = replace(cfg, tree=job.tree, pci_order_module=job.enumeration)
    census = census_boot(cfg, outdir, progress, output) if job.enumeration else None
    boot_times = []
    for k, directory in enumerate(_boot_dirs(outdir, job.boots), 1):
        if job.boots > 1:
            progress(f"boot {k} of {job.boots}")
        result = run_in_guest([sys.executable, "-m", "cfgbench.lab.mainjob", job.request()], cfg, outdir=directory,
                              progress=progress, output=output)
        if result.returncode != 0:
            raise CfgbenchError(f"the measurement in the guest failed (exit code {result.returncode})",
                                "see the guest output above")
        boot_times.append(result.boot_seconds)
    if job.boots > 1:
        merge_boots(outdir, job.boots)
    paths = [path for path in result_paths(outdir) if path.exists()]
    suites = {path.stem.removeprefix("lab-"): load_suite(path) for path in paths}
    lab = result.lab_metadata
    files = " ".join(str(p) for p in paths)
    rescans = [str(p) for p in rescan_paths(outdir) if p.exists()] if job.enumeration else []
    cold = [str(p) for p in cold_paths(outdir) if p.exists()]  # the cold pattern, with --in-situ
    report = report_of(suites, more=[*(rescans if len(rescans) == 2 else ()), *cold])
    where = [_figure_line(report, outdir / FIGURE_NAME)] if figure else []
    where.append(f"the full tables, each figure's caveats and where the time goes: cfgbench compare {files}")
    enumeration = answer_lines(rescan_answer(outdir, report, census, suites) if census else None, census)
    for line in end_of_run(report, headline_context(lab["accel"]), where, enumeration, verbose=verbose):
        say(line)
    say(f"lab: {lab['machine']} guest ({cfg.smp} vCPU{'s' * (cfg.smp != 1)}) under {lab['accel']}, QEMU {lab['qemu']}, "
        f"kernel {lab['kernel_release']}; "
        f"{job.describe()} of {', '.join(f'{t:.1f}' for t in boot_times)} s, total {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(guest_main())
