"""The guests the lab suite shares (docs/design.md, "What the lab suite boots").

Every TCG boot costs seconds and the suite boots one guest at a time, so the
checks that need only the default guest (q35, 2 vCPUs, e1000e behind a root
port, iomem=relaxed) run as parts of ONE boot: each part is a script, written
to the results share before the boot, run in the guest with its own directory
of the share as $PART_OUT ($CFGBENCH_LAB_OUT stays the share's root: the host
maps paths below it to its own). A part's exit code is left beside its files. The main job
(two timing boots and its census boot) is the other shared guest: the main-job
tests and the where-the-time-goes tests both read its files.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from cfgbench.errors import CfgbenchError
from cfgbench.lab.guest import GuestConfig, GuestResult, run_in_guest
from cfgbench.lab.mainjob import LabJob, main_job
from cfgbench.settings import PRESETS

# --- the default boot's parts ---------------------------------------------------------------

# The lab end to end: lspci's two readers, the three methods over every function,
# the Python the guest runs, and (at the end of the boot) an exit status and output.
GUEST = textwrap.dedent(r"""
    set -u
    out=$PART_OUT
    now() { date +%s.%N; }
    t0=$(now); python3 -c pass; t1=$(now)
    lspci -A intel-conf1 -xxx > "$out/conf1.txt"; t2=$(now)
    lspci -A linux-sysfs -xxx > "$out/sysfs.txt"
    lspci -A linux-sysfs -xxxx > "$out/sysfs-ext.txt"
    python3 -c 'import os, sys, cfgbench; print(cfgbench.__file__); print(sys.executable); print(os.environ.get("CFGBENCH_FORBID_RAW", "unset"))' > "$out/python.txt"
    echo "python_pass $t0 $t1" > "$out/timings.txt"
    echo "lspci_conf1 $t1 $t2" >> "$out/timings.txt"
    stat -c %s /sys/bus/pci/devices/0000:01:00.0/config > "$out/config-size.txt"
    python3 - > "$out/methods.json" <<'PY'
    import json
    from cfgbench import access
    from cfgbench.pci import list_functions
    reads = {}
    with access.create("pio") as pio, access.create("mmio") as mmio, access.create("kernel") as kernel:
        for function in list_functions():
            offsets = [0x00, 0x08, 0x2C] + ([0x100] if function.config_size == 4096 else [])
            for offset in offsets:
                methods = [mmio, kernel] + ([pio] if offset < 0x100 else [])
                key = f"{function.bdf}+{offset:#x}"
                reads[key] = {m.name: m.read(function.bdf, offset, 4) for m in methods}
    print(json.dumps(reads))
    PY
""")

# The low-level items: the unlocked-0xCF8 warning, type 1's reach, setpci's register
# syntax, the kernel's path and a scan's mapping.
REGISTERS = ("COMMAND", "2c.w", "VENDOR_ID+1.b", "CAP_EXP+2.w")
LOW_LEVEL = textwrap.dedent(r"""
    set -u
    out=$PART_OUT
    cfgbench run -m pio --quiet --in-process --loops 256 --values 1 --samples 0 -o "$out/pio.json" \
        > "$out/run-pio.out" 2> "$out/run-pio.err"; echo $? > "$out/run-pio.rc"
    cfgbench read -m pio 01:00.0 0x100 > "$out/reach.out" 2> "$out/reach.err"; echo $? > "$out/reach.rc"
    for reg in REGISTERS; do
        setpci -A intel-conf1 -s 01:00.0 $reg >> "$out/regs-setpci.txt"
    done
    # The register reads, the kernel's paths and the scan's mapping in one Python (each process
    # start costs seconds under TCG); the reads as a user types them, through click's runner.
    python3 - <<'PY'
    import json
    import os
    from pathlib import Path
    from click.testing import CliRunner
    from cfgbench import access
    from cfgbench.address import Bdf
    from cfgbench.cli import main
    from cfgbench.kernelpath import metadata_for
    out = Path(os.environ["PART_OUT"])
    for reg in "REGISTERS".split():
        for method in ("pio", "mmio", "kernel"):
            done = CliRunner().invoke(main, ["read", "-m", method, "01:00.0", reg])
            with open(out / f"regs-{method}.txt", "a") as stdout, open(out / f"regs-{method}.err", "a") as stderr:
                stdout.write(done.stdout)
                stderr.write(done.stderr + ("" if done.exit_code == 0 else f"exit {done.exit_code}\n"))
    paths = {"base": metadata_for(Bdf(0, 0, 0, 0), 0), "extended": metadata_for(Bdf(0, 1, 0, 0), 0x100)}
    (out / "paths.json").write_text(json.dumps(paths))
    scanned = [Bdf(0, bus, device, 0) for bus in (0, 1) for device in range(32)]
    with access.create("mmio") as paged:
        pages = {str(b): paged.read(b, 0, 4) for b in scanned}
    with access.create("mmio") as mapped:
        mapped.prepare_targets(scanned)
        ranged = {str(b): mapped.read(b, 0, 4) for b in scanned}
        lengths = [length for _, length in mapped._mappings]
    (out / "busmap.json").write_text(json.dumps({"pages": pages, "ranged": ranged, "lengths": lengths}))
    PY
""").replace("REGISTERS", " ".join(REGISTERS))


@dataclass(frozen=True)
class Case:
    """A hostile environment: its command line, and what its one stderr line must say."""

    name: str
    command: str
    needles: tuple[str, ...]


def cases_script(cases: tuple[Case, ...]) -> str:
    """Each case's stdout, stderr and exit code, as files named after it."""
    lines = ['out=${PART_OUT:-$CFGBENCH_LAB_OUT}']  # a part of the default boot, or a boot of its own
    for case in cases:
        lines.append(f'{case.command} >"$out/{case.name}.out" 2>"$out/{case.name}.err"; echo $? >"$out/{case.name}.rc"')
    return "\n".join(lines) + "\n"


NO_RAWIO = "setpriv --inh-caps=-sys_rawio --bounding-set=-sys_rawio"
# A normal user who may still read the root-only Python install (the host's /root is 0700).
NOT_ROOT = ("setpriv --reuid=65534 --regid=65534 --clear-groups "
            "--inh-caps=+dac_read_search --ambient-caps=+dac_read_search")
READ = "cfgbench read -m"
# The hostile environments the default guest can stage (the others need a boot of their own).
HOSTILE = (
    Case("pio-without-rawio", f"{NO_RAWIO} {READ} pio 00:00.0 0", ("0xCF8", "CAP_SYS_RAWIO")),
    Case("mmio-without-rawio", f"{NO_RAWIO} {READ} mmio 00:00.0 0", ("/dev/mem", "CAP_SYS_RAWIO")),
    Case("pio-not-root", f"{NOT_ROOT} {READ} pio 00:00.0 0", ("0xCF8", "run as root")),
    Case("mmio-not-root", f"{NOT_ROOT} {READ} mmio 00:00.0 0", ("/dev/mem", "run as root")),
    Case("outside-every-window", "cfgbench run -m mmio -d 0001:00:00.0 -q", ("outside every ECAM window", "--method=kernel")),
    Case("absent-device", "cfgbench run -m pio -d 00:1f.7 -q", ("no PCI function 0000:00:1f.7", "cfgbench list")),
)

# A user's own run in the lab: its output goes to the console (not to a file), where
# the host turns the guest's share path into its own.
RUN = ('cfgbench run -m pio -m mmio --workload read --workload peer-probe --in-process --values 6 --loops 4096 '
       '-o "$PART_OUT/x-{method}.json"\n')

PARTS = {"guest": GUEST, "low-level": LOW_LEVEL, "hostile": cases_script(HOSTILE), "run": RUN}
# After the parts: the exit status and both streams must come back to the host.
EXIT_STATUS = 3
DEFAULT_COMMAND = textwrap.dedent(f"""
    base=$CFGBENCH_LAB_OUT
    for part in {' '.join(PARTS)}; do
        if [ "$part" = run ]; then
            PART_OUT=$base/$part sh "$base/$part.sh"; echo $? > "$base/$part/rc"
        else
            PART_OUT=$base/$part sh "$base/$part.sh" > "$base/$part/log" 2>&1; echo $? > "$base/$part/rc"
        fi
    done
    echo to stdout
    echo to stderr >&2
    exit {EXIT_STATUS}
""")


@dataclass
class DefaultBoot:
    result: GuestResult
    out: Path
    progress: list[str]

    def part(self, name: str) -> Path:
        return self.out / name


def boot_default(out: Path) -> DefaultBoot:
    for name, script in PARTS.items():
        (out / name).mkdir()
        (out / f"{name}.sh").write_text(script)
    progress: list[str] = []
    # The guard in the host's environment must not reach the guest (run_in_guest drops it).
    result = run_in_guest(["sh", "-c", DEFAULT_COMMAND], GuestConfig(accel="tcg", timeout_s=900), outdir=out,
                          env={"CFGBENCH_FORBID_RAW": "1"}, progress=progress.append)
    return DefaultBoot(result, out, progress)


# --- the main job ---------------------------------------------------------------------------

MAIN_JOB_ROUNDS = 8  # behaviour, not figures: benchmarks/ and results/ measure
MAIN_JOB_BOOTS = 2  # the merge of boots, for real


@dataclass
class MainJob:
    out: Path
    printed: list[str]
    guest_output: str


def run_main_job(out: Path) -> MainJob:
    guest_output: list[str] = []
    printed: list[str] = []
    job = LabJob(replace(PRESETS["lab"], values=MAIN_JOB_ROUNDS), boots=MAIN_JOB_BOOTS)
    try:
        main_job(GuestConfig(accel="tcg", timeout_s=300), lambda line: guest_output.append(f"{line}\n"), out,
                 output=guest_output.append, job=job, say=printed.append)
    except CfgbenchError as exc:
        pytest.fail(f"{exc.one_line()}\n--- guest output ---\n{''.join(guest_output)}")
    return MainJob(out, printed, "".join(guest_output))
