"""Consecutive labs, each checked against a bare C loop in the same boot.

    python benchmarks/lab_vs_c.py --labs 5 --out results/lab-interleaved [--schedule interleaved]

Each lab boots one guest that runs the bare C reference (benchmarks/c_reference.c:
type 1 and ECAM reads of the same register, interleaved in rounds) on each read
target, then the lab's own job (`python -m cfgbench.lab.mainjob`, as `cfgbench
lab` does), then the C reference again: the machine changes speed within a
boot, so the C loop brackets the lab's run. On the host it prints, per lab and
target, cfgbench's paired pio/mmio ratio with its interval and verdict, the C
loop's ratio (the geometric mean of its per-round ratios, before and after,
as cfgbench computes its own), and how far apart they are; and writes the
same as summary.json and summary.txt into --out."""

from __future__ import annotations

import argparse
import json
import math
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from cfgbench.compare import stats
from cfgbench.compare.render import factor_words, interval_words
from cfgbench.lab.guest import GuestConfig, run_in_guest
from cfgbench.lab.mainjob import LabJob
from cfgbench.results import load_suite
from cfgbench.settings import PRESETS

HERE = Path(__file__).resolve().parent
TARGETS = (("0000:00:00.0", "read 0000:00:00.0+0x000/4"), ("0000:01:00.0", "read 0000:01:00.0+0x000/4"))


def build_reference(workdir: Path) -> Path:
    """Compiled on the host (the guest sees the host's /tmp): gcc under TCG is slow."""
    binary = workdir / "c_reference"
    subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-o", str(binary), str(HERE / "c_reference.c")], check=True)
    return binary


def guest_script(binary: Path, job: LabJob, c_rounds: int, c_reads: int) -> str:
    python = shlex.quote(sys.executable)

    def reference(when: str) -> list[str]:
        return [f"{python} {shlex.quote(str(HERE / 'c_reference.py'))} {binary} {bdf} --rounds {c_rounds} "
                f'--reads {c_reads} -o "$CFGBENCH_LAB_OUT/c-{bdf}-{when}.txt" || exit $?' for bdf, _ in TARGETS]

    lab = f"{python} -m cfgbench.lab.mainjob {shlex.quote(job.request())} || exit $?"
    return "\n".join([*reference("before"), lab, *reference("after")])


def c_rows(*paths: Path) -> list[tuple[float, float]]:
    return [(float(pio), float(ecam)) for path in paths for pio, ecam in
            (line.split() for line in path.read_text().splitlines() if line.strip())]


def c_ratio(*paths: Path) -> tuple[float, float, float]:
    """(geometric mean of the per-round pio/ecam ratios, median pio ns, median ecam ns)."""
    rows = c_rows(*paths)
    ratio = math.exp(statistics.fmean(math.log(pio / ecam) for pio, ecam in rows))
    return ratio, statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)


def one_lab(index: int, outdir: Path, binary: Path, job: LabJob, c_rounds: int, c_reads: int) -> dict:
    labdir = outdir / f"lab-{index}"
    started = time.monotonic()
    result = run_in_guest(["sh", "-c", guest_script(binary, job, c_rounds, c_reads)], GuestConfig(accel="tcg", timeout_s=900),
                          outdir=labdir, progress=lambda line: print(f"  {line}", file=sys.stderr))
    wall = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"lab {index} failed (exit {result.returncode}):\n{result.output}")
    pio, mmio = (load_suite(labdir / f"lab-{m}.json") for m in ("pio", "mmio"))
    rows = []
    for bdf, name in TARGETS:
        e = stats.estimate(pio.get_benchmark(name), mmio.get_benchmark(name))
        c, c_pio, c_ecam = c_ratio(labdir / f"c-{bdf}-before.txt", labdir / f"c-{bdf}-after.txt")
        lab_ratio = 1 / e.ratio  # pio time over mmio time, as the C loop reports it
        rows.append({"target": name, "lab_pio_over_mmio": lab_ratio, "ci_low": 1 / e.high if e.high else None,
                     "ci_high": 1 / e.low if e.low else None, "p_value": e.p_value, "significant": e.significant,
                     "summary": f"mmio {factor_words(e)} than pio ({interval_words(e)}; {e.verdict()})",
                     "pio_median_ns": pio.get_benchmark(name).median() * 1e9,
                     "mmio_median_ns": mmio.get_benchmark(name).median() * 1e9,
                     "c_pio_over_ecam": c, "c_pio_ns": c_pio, "c_ecam_ns": c_ecam,
                     "lab_vs_c": lab_ratio / c - 1})
    return {"lab": index, "wall_s": wall, "boot_s": result.boot_seconds, "targets": rows}


def render(labs: list[dict], job: LabJob) -> str:
    lines = [f"{len(labs)} consecutive labs, {job.describe()}; the C reference before and after, "
             "in the same boot", ""]
    for lab in labs:
        lines.append(f"lab {lab['lab']}: wall {lab['wall_s']:.1f} s (boot {lab['boot_s']:.1f} s)")
        for row in lab["targets"]:
            lines.append(f"  {row['target']}: {row['summary']}; pio {row['pio_median_ns']:.0f} ns, "
                         f"mmio {row['mmio_median_ns']:.0f} ns")
            lines.append(f"    C loop: pio {row['c_pio_ns']:.0f} ns, ECAM {row['c_ecam_ns']:.0f} ns, "
                         f"ratio {row['c_pio_over_ecam']:.2f}; cfgbench {row['lab_pio_over_mmio']:.2f} "
                         f"({row['lab_vs_c']:+.1%} from C)")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labs", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--schedule", choices=("interleaved", "sequential"), default="interleaved")
    parser.add_argument("--values", type=int, default=PRESETS["lab"].values)
    parser.add_argument("--c-rounds", type=int, default=24)
    parser.add_argument("--c-reads", type=int, default=16384)
    args = parser.parse_args()
    if args.out.exists():
        raise SystemExit(f"{args.out} exists: choose a new --out")
    args.out.mkdir(parents=True)
    job = LabJob(replace(PRESETS["lab"], values=args.values, schedule=args.schedule))
    with tempfile.TemporaryDirectory(prefix="cfgbench-cref-", dir="/tmp") as workdir:
        binary = build_reference(Path(workdir))
        labs = [one_lab(k, args.out, binary, job, args.c_rounds, args.c_reads) for k in range(1, args.labs + 1)]
    (args.out / "summary.json").write_text(json.dumps({"settings": job.describe(), "labs": labs}, indent=2) + "\n")
    text = render(labs, job)
    (args.out / "summary.txt").write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
