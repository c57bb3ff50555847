"""The result file format: every `cfgbench_*` key (spelled here only), the environment's labels, the format version."""

from __future__ import annotations

from dataclasses import dataclass

import pyperf

# History of the format (FORMAT_KEY on every run since version 2):
# 1 (no FORMAT_KEY): issues 1-15; before sessions existed, one total for the
#   whole file on every run (runs.py reads such files once, not summed).
# 2: the one timing engine (issue 16): the sequential schedule records its
#   values without rounds, and FORMAT_KEY is recorded.
FORMAT_VERSION = 2
FORMAT = "cfgbench_format"

# What was timed (per benchmark).
VERSION = "cfgbench_version"
METHOD = "cfgbench_method"
WORKLOAD = "cfgbench_workload"
TARGET = "cfgbench_target"
VALUE = "cfgbench_value"
READS_PER_PASS = "cfgbench_reads_per_pass"
SCAN_FUNCTIONS = "cfgbench_scan_functions"
SWEEP_REGION = "cfgbench_sweep_region"
HOT_PARTNER = "cfgbench_hot"  # probe, peer-probe: the benchmark that reads one register of the pass's kind over and over
ECAM_WINDOW = "cfgbench_ecam_window"
KERNEL_PATH = "cfgbench_kernel_path"
KERNEL_PATH_SOURCE = "cfgbench_kernel_path_source"
# The split workload: one access of a read, timed alone.
ACCESS = "cfgbench_access"
ACCESS_LABEL = "cfgbench_access_label"
ACCESS_ROLE = "cfgbench_access_role"
MECHANISM = "cfgbench_mechanism"
KERNEL_FLOOR = "cfgbench_floor"  # where the kernel floor's pread is made, and why it returns nothing
KERNEL_FLOOR_RETURNS_IN = "cfgbench_floor_returns_in"
# The kernel's own enumeration, timed in the lab (lab/enumeration.py: the rescan workload).
KERNEL_ORDER = "cfgbench_kernel_order"  # type1-first (the kernel's own) or ecam-only (Kaher's)
KERNEL_READ = "cfgbench_kernel_read"  # the function the kernel's own order reads below 0x100 with
RESCAN_FUNCTIONS = "cfgbench_rescan_functions"  # functions below the port, removed and found again
RESCAN_BUS = "cfgbench_rescan_bus"  # the port's secondary bus, whose rescan is timed

# Where it ran (per benchmark; platform.Fingerprint).
ENVIRONMENT = "cfgbench_environment"
HYPERVISOR = "cfgbench_hypervisor"
DMI_VENDOR = "cfgbench_dmi_vendor"
DMI_PRODUCT = "cfgbench_dmi_product"
KERNEL_RELEASE = "cfgbench_kernel_release"
CPU_MODEL = "cfgbench_cpu_model"
# In the lab guest (platform.lab_metadata, from the record lab/guest.py passes): the lab and the host QEMU ran on.
LAB_ACCEL = "cfgbench_lab_accel"
LAB_QEMU = "cfgbench_lab_qemu"
LAB_MACHINE = "cfgbench_lab_machine"
LAB_KERNEL = "cfgbench_lab_kernel"
LAB_CMDLINE = "cfgbench_lab_cmdline"
LAB_HOST = "cfgbench_lab_host"
LAB_HOST_CPU = "cfgbench_lab_host_cpu"
LAB_HOST_KERNEL = "cfgbench_lab_host_kernel"
LAB_TREE = "cfgbench_lab_tree"
# CI history (history/store.py): the commit a run measured.
COMMIT = "cfgbench_commit"

# What one run (one worker process) saw: runs.py adds runs up.
SESSION = "cfgbench_session"
SCHEDULE = "cfgbench_schedule"
SETTINGS = "cfgbench_settings"
PROCESS = "cfgbench_process"
ROUNDS = "cfgbench_rounds"
ROUND_POSITIONS = "cfgbench_round_positions"
TSC_HZ = "cfgbench_tsc_hz"
NULL_LOOP_NS = "cfgbench_null_loop_ns"  # the harness's own cost per iteration in that process
READS = "cfgbench_reads"
MISMATCHES = "cfgbench_mismatches"
MISMATCH_NOTE = "cfgbench_mismatch_note"
DIST_CYCLES = "cfgbench_dist_cycles"
DIST_OVERHEAD_CYCLES = "cfgbench_dist_overhead_cycles"

INTERLEAVED, SEQUENTIAL = "interleaved", "sequential"
READ_WORKLOAD, SPLIT_WORKLOAD = "read", "split"
# What a split access is to the whole read (access/base.py SplitPart, compare/breakdown.py).
PART = "part"  # one of the accesses the read is made of: the parts add up to it
FLOOR = "floor"  # the read's path without the access: subtracted from it, it leaves the access
EXTRA = "extra"  # timed beside the read, in no sum (type 1's address read)


@dataclass(frozen=True)
class EnvironmentField:
    """One fact about where a run happened, and how readers use it."""

    key: str
    label: str  # how tables and messages name it
    same_machine: bool = False  # a gate or a baseline compares only runs that agree on it
    explains_steps: bool = False  # a change of it between CI runs is named beside the step


# In the order tables show them.
ENVIRONMENT_FIELDS: tuple[EnvironmentField, ...] = (
    EnvironmentField(METHOD, "method", same_machine=True),
    EnvironmentField(ENVIRONMENT, "environment", same_machine=True, explains_steps=True),
    EnvironmentField(HYPERVISOR, "hypervisor", same_machine=True, explains_steps=True),
    EnvironmentField(LAB_ACCEL, "lab accel", same_machine=True),
    EnvironmentField(LAB_KERNEL, "lab kernel"),
    EnvironmentField(LAB_HOST_CPU, "lab host CPU", same_machine=True),
    EnvironmentField(LAB_HOST_KERNEL, "lab host kernel", same_machine=True),
    EnvironmentField(LAB_HOST, "lab host", same_machine=True),
    EnvironmentField(KERNEL_ORDER, "kernel order"),
    EnvironmentField(KERNEL_RELEASE, "kernel release", same_machine=True, explains_steps=True),
    EnvironmentField(CPU_MODEL, "CPU", same_machine=True, explains_steps=True),
    EnvironmentField(DMI_PRODUCT, "machine", explains_steps=True),
    EnvironmentField(VERSION, "cfgbench version", explains_steps=True),
)
LABELS = {f.key: f.label for f in ENVIRONMENT_FIELDS}
SAME_MACHINE_LABELS = tuple(f.label for f in ENVIRONMENT_FIELDS if f.same_machine)
# pyperf's own name for the CPU, where an old file lacks ours.
PYPERF_CPU_MODEL = "cpu_model_name"
PYPERF_HOSTNAME = "hostname"
PYPERF_DATE = "date"


def method_of(bench: pyperf.Benchmark) -> str:
    return str(bench.get_metadata().get(METHOD, "unknown"))


def is_cfgbench(bench: pyperf.Benchmark) -> bool:
    return METHOD in bench.get_metadata()


def is_split(bench: pyperf.Benchmark) -> bool:
    """One access of a read timed alone (the split workload)."""
    return ACCESS in bench.get_metadata()


@dataclass(frozen=True)
class SplitInfo:
    """What a split benchmark times: one access of a read."""

    access: str
    label: str
    role: str  # PART, FLOOR or EXTRA
    mechanism: str
    target: str


def split_info(bench: pyperf.Benchmark) -> SplitInfo | None:
    md = bench.get_metadata()
    if ACCESS not in md:
        return None
    return SplitInfo(str(md.get(ACCESS, "")), str(md.get(ACCESS_LABEL, "")), str(md.get(ACCESS_ROLE, "")),
                     str(md.get(MECHANISM, "")), str(md.get(TARGET, "")))


def display_name(bench: pyperf.Benchmark) -> str:
    """The name with a split access as readers say it: `split 0000:00:00.0+0x000/4 address write (0xCF8)`."""
    info = split_info(bench)
    name = bench.get_name()
    if info is None or not info.label:
        return name
    return name.removesuffix(f" {info.access}") + f" {info.label}"


def workload_of(bench: pyperf.Benchmark) -> str:
    return str(bench.get_metadata().get(WORKLOAD, bench.get_name().partition(" ")[0]))


def target_of(bench: pyperf.Benchmark) -> str:
    return str(bench.get_metadata().get(TARGET, bench.get_name().partition(" ")[2]))
