"""The lab's main job: time pio, mmio and kernel reads in the guest, compare on the host.

Host side: `main_job()` boots the guest and prints the comparison. Guest side:
`python -m cfgbench.lab.measure` (run by main_job inside the guest) times every method
on every target in one `cfgbench run` plan and writes lab-<method>.json to the share.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from cfgbench.errors import CfgbenchError
from cfgbench.results import make_output_dir
from cfgbench.lab.guest import GuestConfig, Progress, run_in_guest
from cfgbench.lab.qemu import PCIE_TARGET_BDF

METHODS = ("pio", "mmio", "kernel")  # pio first: the comparison's reference
# Host bridge (type 1 and ECAM both reach it), and the PCIe function below the root port at
# offset 0 and at 0x100, which only ECAM reaches (the kernel uses ECAM there too).
TARGETS = (("0000:00:00.0", 0x000), (PCIE_TARGET_BDF, 0x000), (PCIE_TARGET_BDF, 0x100))
WIDTH = 4
# One in-process worker: Python starts slowly under TCG with a 9p root, and a pyperf worker
# per process would dominate the wall time. 16384 reads per value (~3 ms for pio, ~60 ms for
# kernel) average over timer interrupts; 1024 (~0.2 ms) let single interrupts make 30-50% outliers.
PYPERF_ARGS = ("--in-process", "--processes", "1", "--values", "6", "--loops", "16384")
# The kernel's enumeration in this guest: bus 0 and the root port's secondary bus 1
# (a scan of all 256 buses of the window, `cfgbench run --workload scan`, takes ~25 s here).
WORKLOADS = ("read", "scan", "sweep")
SCAN_BUSES = range(0x00, 0x02)
RESULT_NAME = "lab-{method}.json"


def result_paths(outdir: Path) -> list[Path]:
    return [outdir / RESULT_NAME.format(method=method) for method in METHODS]


def _lab_metadata() -> dict[str, str]:
    """Runs in the guest: what the results must record about the lab itself."""
    metadata = {f"cfgbench_lab_{key}": os.environ.get(f"CFGBENCH_LAB_{key.upper()}", "unknown")
                for key in ("accel", "qemu", "machine")}
    metadata["cfgbench_lab_kernel"] = os.uname().release
    metadata["cfgbench_lab_cmdline"] = Path("/proc/cmdline").read_text().strip()
    return metadata


def guest_main() -> int:
    """Runs in the guest (python -m cfgbench.lab.measure)."""
    from cfgbench import runner  # guest-only import: pyperf and the accessors
    from cfgbench.address import parse_bdf

    if "CFGBENCH_LAB_OUT" not in os.environ:
        print("cfgbench: error: this is the lab guest's job: run `cfgbench lab` instead", file=sys.stderr)
        return 2
    out = Path(os.environ["CFGBENCH_LAB_OUT"])
    options = runner.RunOptions(
        methods=list(METHODS),
        targets=[runner.Target(parse_bdf(bdf), offset, WIDTH) for bdf, offset in TARGETS],
        output=out / RESULT_NAME,
        pyperf_args=list(PYPERF_ARGS),
        metadata=_lab_metadata(),
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


def main_job(cfg: GuestConfig, progress: Progress, outdir: Path | None = None,
             output: Callable[[str], object] = sys.stderr.write) -> int:
    """Boot the guest, time the methods there, print the comparison; the exit code."""
    from cfgbench import compare as comparing

    outdir = outdir or default_outdir()
    make_output_dir(outdir)
    for path in result_paths(outdir):
        if path.exists():
            raise CfgbenchError(f"{path} already exists", "choose another --out directory")
    started = time.monotonic()
    result = run_in_guest([sys.executable, "-m", "cfgbench.lab.measure"], cfg, outdir=outdir,
                          progress=progress, output=output)
    if result.returncode != 0:
        raise CfgbenchError(f"the measurement in the guest failed (exit code {result.returncode})",
                            "see the guest output above")
    progress(f"results in {outdir}/; comparing")
    report = comparing.compare_paths([str(path) for path in result_paths(outdir) if path.exists()])
    print(comparing.RENDERERS["text"](report), end="")
    print(f"lab: {result.lab_metadata['machine']} guest under {result.lab_metadata['accel']}, "
          f"QEMU {result.lab_metadata['qemu']}, kernel {result.lab_metadata['kernel']}; "
          f"boot {result.boot_seconds:.1f} s, total {time.monotonic() - started:.1f} s")
    print(f"lab pyperf settings: {' '.join(PYPERF_ARGS)} (one process; a bare-metal `cfgbench run` "
          "uses pyperf's defaults: many worker processes, calibrated loops)")
    return 0


if __name__ == "__main__":
    sys.exit(guest_main())
