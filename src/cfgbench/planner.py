"""Methods x targets x workloads into one `BenchSpec` each, every value checked (checks.py) before it is planned."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from cfgbench import access, kernelpath, schema, workloads
from cfgbench.access.base import ConfigAccessor
from cfgbench.address import Bdf
from cfgbench.checks import Reference, check_offset_safe, reference_for, sanity_check, space_map, verified_value, why_unreachable
from cfgbench.errors import CfgbenchError, Progress
from cfgbench.mcfg import ecam_window_for, read_ecam_windows
from cfgbench.pci_regs import LEGACY_CONFIG_SIZE, VENDOR_ID
from cfgbench.plan import BenchSpec, Plan, PlanRequest, ReadSpec, Target


def _spec(method: str, workload: str, label: str, reads: list[ReadSpec], extra: dict[str, Any],
          register: bool = True) -> BenchSpec:
    """A benchmark with its metadata: what it times, its value or reads per pass, and the kernel's path for the register."""
    first = reads[0]
    metadata: dict[str, Any] = {schema.METHOD: method, schema.WORKLOAD: workload, schema.TARGET: label}
    if register:
        metadata |= kernelpath.metadata_for(first.bdf, first.offset)
    if len(reads) == 1:
        metadata[schema.VALUE] = f"{first.expected:#0{2 + 2 * first.width}x}"
    else:
        metadata[schema.READS_PER_PASS] = len(reads)
    return BenchSpec(method, workload, label, reads, metadata | extra)


class _Planner:
    """One method's benchmarks; what it cannot do is skipped with a note, or is the error when one thing was asked."""

    def __init__(self, request: PlanRequest, accessor: ConfigAccessor, reference: Reference, progress: Progress,
                 quiet: bool = False, skipped: list[str] | None = None) -> None:
        self.request, self.accessor, self.reference, self.progress = request, accessor, reference, progress
        self.skipped = [] if skipped is None else skipped  # said once planning is done: when nothing is left, in the error
        self.note = (lambda _line: None) if quiet else progress  # what is skipped by design: not a warning
        self.method = accessor.name
        self.several = len(request.methods) * len(request.targets) * len(request.workloads) > 1

    def skip(self, what: str, why_not: str) -> None:
        if not self.several:
            raise CfgbenchError(why_not)
        self.skipped.append(f"{what}: {why_not}")

    def benches(self) -> list[BenchSpec]:
        planners = {schema.READ_WORKLOAD: self.reads, schema.SPLIT_WORKLOAD: self.splits, workloads.SCAN: self.scan,
                    workloads.SWEEP: self.sweeps, workloads.PROBE: lambda: self.probes(workloads.PROBE),
                    workloads.PEER_PROBE: lambda: self.probes(workloads.PEER_PROBE), workloads.SEQUENCE: self.sequence}
        planned = [spec for workload in self.request.workloads for spec in planners[workload]()]
        # split brings the read it splits (read may be asked for too) and one floor per function: each benchmark once.
        unique: dict[str, BenchSpec] = {}
        for spec in planned:
            unique.setdefault(spec.bench_name, spec)
        return list(unique.values())

    @cached_property
    def _register_values(self) -> list[tuple[Target, int]]:
        """Each target the method reaches and its checked value, once for every workload that reads registers."""
        found = []
        for target in self.request.targets:
            why_not = why_unreachable(self.accessor, target)
            if why_not:
                self.skip(f"{self.method} on {target}", why_not)
                continue
            if not self.request.allow_any_offset:
                check_offset_safe(self.accessor, self.reference, target)
            found.append((target, verified_value(self.accessor, self.reference, target)))
        return found

    def _read(self, target: Target, value: int) -> BenchSpec:
        reads = [ReadSpec(str(target.bdf), target.offset, target.width, value)]
        return _spec(self.method, schema.READ_WORKLOAD, str(target), reads, self.accessor.target_metadata(target.bdf))

    def reads(self) -> list[BenchSpec]:
        """Each register; a function read through both of the kernel's paths also gets its floor (they compare net of it)."""
        planned = [self._read(target, value) for target, value in self._register_values]
        paths: dict[Bdf, set[str]] = {}
        first: dict[Bdf, tuple[Target, int]] = {}
        for spec, (target, value) in zip(planned, self._register_values, strict=True):
            paths.setdefault(target.bdf, set()).add(str(spec.metadata.get(schema.KERNEL_PATH)))
            first.setdefault(target.bdf, (target, value))
        return planned + [part for bdf, (target, value) in first.items() if paths[bdf] >= {"type1", "ecam"}
                          for part in self._parts(target, value, schema.FLOOR)]

    def _parts(self, target: Target, value: int, role: str | None = None) -> list[BenchSpec]:
        """Each access of a read (of one role) timed alone, if its untimed read returns what it must."""
        planned, bdf, label = [], target.bdf, str(target)
        for part in self.accessor.split_parts(bdf, target.offset, target.width, value):
            if role is not None and part.role != role:
                continue
            got = self.accessor.read(bdf, part.offset, part.width, part.access)
            if got != part.expected:
                why = part.unverified or f"it read {got:#x} where {part.expected:#x} was expected: not timed"
                self.progress(f"{self.method} {part.access} of {label}: {why}")
                continue
            reads = [ReadSpec(str(bdf), part.offset, part.width, part.expected, part.access)]
            planned.append(_spec(self.method, schema.SPLIT_WORKLOAD, str(bdf) if part.per_device else label, reads,
                                 {**self.accessor.target_metadata(bdf), **part.describe()}, register=not part.per_device))
        return planned

    def splits(self) -> list[BenchSpec]:
        """The whole read of each register, and each access it is made of timed alone (the method's split_parts)."""
        return [spec for target, value in self._register_values
                for spec in (self._read(target, value), *self._parts(target, value))]

    def scan(self) -> list[BenchSpec]:
        if not self.accessor.can_scan():
            self.skip(f"a {self.method} scan", f"a scan needs a raw method: {self.method} shows only the functions "
                      "the kernel enumerated; use --method=pio or --method=mmio")
            return []
        buses = self.request.buses or _default_scan_buses()
        self.note(f"planning a scan of buses {buses.start:02x}-{buses.stop - 1:02x} through {self.method}")
        reads, functions = [], 0
        for bdf, offset, value in workloads.scan_reads(self._checked_read, 0, buses):
            reads.append(ReadSpec(str(bdf), offset, 4, value))
            functions += offset == VENDOR_ID and workloads.present(value)
        extra = self.accessor.target_metadata(Bdf(0, buses.start, 0, 0))
        return [_spec(self.method, workloads.SCAN, workloads.scan_label(0, buses), reads,
                      {schema.SCAN_FUNCTIONS: functions, **extra})]

    def probes(self, workload: str) -> list[BenchSpec]:
        """One pass reading a new function's vendor ID at every read, over the ECAM window's buses (as the kernel probes
        up to pcibios_last_bus), and its hot partner: a register of the kind most of the pass reads (absent or
        present). The kernel reads only the functions it lists, at 0x000 (its type 1) and at 0x100 (its ECAM)."""
        buses = _default_scan_buses()
        functions = list(workloads.probe_functions(0, buses, workloads.PROBE_STRIDES[workload]))
        label, listed = workloads.scan_label(0, buses), self.accessor.enumerated()
        passes = {label: [(bdf, 0) for bdf in functions]}
        if listed is not None:
            passes = {label: [(bdf, 0) for bdf in functions if bdf in listed],
                      f"{label}+0x100": [(bdf, LEGACY_CONFIG_SIZE) for bdf in functions
                                         if bdf in listed and self.accessor.space_size(bdf) > LEGACY_CONFIG_SIZE]}
        planned = []
        for name, where in passes.items():
            if len(where) < 2:
                self.note(f"skipping the {self.method} {workload} {name}: it would read fewer than two functions")
                continue
            self.accessor.prepare_targets(bdf for bdf, _ in where)  # mmio: one mapping, not a page per function
            reads = [ReadSpec(str(bdf), offset, 4, self._checked_read(bdf, offset, 4)) for bdf, offset in where]
            absent = [r for r in reads if r.offset == VENDOR_ID and not workloads.present(r.expected)]
            planned += self._with_hot(workload, name, reads, absent[-1] if 2 * len(absent) > len(reads) else reads[0],
                                      {schema.SCAN_FUNCTIONS: len(reads) - len(absent)})
        return planned

    def sequence(self) -> list[BenchSpec]:
        """One pass over the targets in the order given, and its hot partner: the first target."""
        found = self._register_values
        if len(found) < 2:
            self.skip(f"a {self.method} sequence", "a sequence needs two targets or more that the method reaches")
            return []
        reads = [ReadSpec(str(t.bdf), t.offset, t.width, value) for t, value in found]
        label = f"{found[0][0]} {len(reads)} reads"
        return self._with_hot(workloads.SEQUENCE, label, reads, reads[0], {schema.SCAN_FUNCTIONS: len({r.bdf for r in reads})})

    def _with_hot(self, workload: str, label: str, reads: list[ReadSpec], hot: ReadSpec,
                  extra: dict[str, Any]) -> list[BenchSpec]:
        """A pass and its hot partner (one of its reads, over and over), which its metadata names."""
        extra = {**extra, **self.accessor.target_metadata(hot.bdf)}
        hot_spec = _spec(self.method, workloads.HOT, str(Target(hot.bdf, hot.offset, hot.width)), [hot], extra)
        return [_spec(self.method, workload, label, reads, {schema.HOT_PARTNER: hot_spec.bench_name, **extra}), hot_spec]

    def _offset_filter(self, bdf: Bdf) -> workloads.OffsetFilter:
        if self.request.allow_any_offset:
            return lambda _offset: True
        space = space_map(self.accessor, self.reference, bdf)
        return lambda offset: not space.why_refused(offset, 4)

    def _checked_read(self, bdf: Bdf, offset: int, width: int) -> int:
        return self.reference.checked(self.accessor, bdf, offset, width)

    def sweeps(self) -> list[BenchSpec]:
        """One benchmark per region of each function's config space that the method reaches, over the dwords it may read."""
        planned = []
        for bdf in dict.fromkeys(t.bdf for t in self.request.targets):  # one sweep per device
            why_not = why_unreachable(self.accessor, Target(bdf, 0, 4))
            if why_not:
                self.skip(f"a {self.method} sweep of {bdf}", why_not)
                continue
            allowed = self._offset_filter(bdf)
            found = []
            for region in workloads.SWEEP_REGIONS:
                offsets = workloads.sweep_offsets(region, self.accessor.space_size(bdf), allowed)
                if offsets:
                    reads = [ReadSpec(str(bdf), o, 4, self._checked_read(bdf, o, 4)) for o in offsets]
                    found.append(_spec(self.method, workloads.SWEEP, workloads.sweep_label(bdf, region, offsets), reads,
                                       {schema.SWEEP_REGION: region.name, **self.accessor.target_metadata(bdf)}))
            if not found:
                raise CfgbenchError(f"{self.method} may read no dword of {bdf}",
                                    "add --allow-any-offset, or pick another device")
            planned += found
        return planned


def _default_scan_buses() -> range:
    """The buses of domain 0's ECAM window when there is one (the kernel's view of the bus range), else all 256."""
    try:
        window = ecam_window_for(Bdf(0, 0, 0, 0), read_ecam_windows())
    except CfgbenchError:
        return workloads.ALL_BUSES
    return range(window.start_bus, window.end_bus + 1)


def build_plan(request: PlanRequest, progress: Progress, quiet: bool = False) -> Plan:
    """Open each method, check it reads what the kernel reads, and fix the plan; quiet keeps the warnings only."""
    benches: list[BenchSpec] = []
    skipped: list[str] = []
    with reference_for(request.methods) as reference:
        for method in request.methods:
            with access.create(method) as accessor:
                if accessor.raw:
                    sanity_check(accessor)
                checker = reference if accessor.raw else Reference(None)
                planned = _Planner(request, accessor, checker, progress, quiet, skipped).benches()
                if planned and (warning := accessor.run_warning()):
                    progress(warning)
                benches += planned
    if not benches:
        more = f" (and {len(skipped) - 1} more)" if len(skipped) > 1 else ""
        why = f": {skipped[0]}{more}" if skipped else ""
        raise CfgbenchError(f"no method can reach any of the targets{why}", "see cfgbench list and cfgbench info")
    for line in [] if quiet else skipped:
        progress(f"skipping {line}")
    return Plan(benches)
