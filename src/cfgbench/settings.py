"""How a run times: the one settings object, with pyperf's meanings and defaults, and its named presets."""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from cfgbench import limits
from cfgbench.errors import CfgbenchError
from cfgbench.platform import online_cpus, parse_cpu_list
from cfgbench.schema import INTERLEAVED, SEQUENTIAL

AUTO = "auto"
SCHEDULES = (AUTO, INTERLEAVED, SEQUENTIAL)
NUMBERS = ("processes", "values", "warmups", "loops", "min_time", "samples")  # each --option in limits.BOUNDS


@dataclass(frozen=True)
class Settings:
    processes: int = 20  # worker processes, one after another
    values: int = 3  # per process; interleaved: one value of every benchmark per round
    warmups: int = 1  # values (rounds) timed and discarded first
    loops: int = 0  # reads per value; 0: calibrate to min_time in the first process
    min_time: float = 0.1  # seconds per value when calibrating
    affinity: str = ""  # CPU list the timing processes are pinned to, e.g. "2-3"
    in_process: bool = False  # time in the calling process: no Python start-up per process
    samples: int = 10_000  # per-read timestamps per process and benchmark; 0: no distribution
    schedule: str = AUTO  # interleaved | sequential | auto (resolved before timing)
    seed: int | None = None  # the random order of the rounds; None: a fresh one, recorded
    quiet: bool = False  # no progress output

    def checked(self) -> Settings:
        """These settings, or one line saying which is wrong and how to fix it (the bounds: limits.py)."""
        for name in NUMBERS:
            value = getattr(self, name)
            if not (name == "loops" and value == 0):  # 0: calibrate
                limits.check(f"--{name.replace('_', '-')}", value)
        if (planned := self.timing_s()) > limits.MAX_TIMING_S:
            per_value = f"--loops {self.loops} at {limits.READ_S:g} s a read" if self.loops else f"--min-time {self.min_time:g}"
            hours = f"{planned / 3600:.3g}" if math.isfinite(planned) else "unbounded"
            raise CfgbenchError(f"--processes {self.processes} x (--warmups {self.warmups} + --values {self.values}) values "
                                f"of {per_value} plan {hours} h of timing per benchmark, over the limit of "
                                f"{limits.MAX_TIMING_S / 3600:g} h", "give fewer processes or values, or shorter values")
        if self.schedule not in SCHEDULES:
            raise CfgbenchError(f"unknown schedule {self.schedule!r}", f"choose one of {', '.join(SCHEDULES)}")
        if self.in_process and self.processes != 1:
            raise CfgbenchError(f"--in-process times in this one process, not {self.processes}",
                                "drop --processes, or drop --in-process")
        if self.affinity:
            check_cpus_online(self.affinity)
        return self

    def timing_s(self) -> float:
        """One benchmark's timing as planned: every value at min_time, or at READ_S a read."""
        return self.processes * (self.warmups + self.values) * (self.loops * limits.READ_S if self.loops else self.min_time)

    def with_options(self, **options: Any) -> Settings:
        """These settings with the options that were given (None: keep); --in-process means one process."""
        given = {name: value for name, value in options.items() if value is not None}
        if given.get("in_process") and "processes" not in given:
            given["processes"] = 1
        return replace(self, **given)

    def resolved(self, several_methods: bool, split: bool) -> Settings:
        """`auto` decided: interleaved whenever methods are compared or a read is split (its parts pair with it by round)."""
        if self.schedule != AUTO:
            return self
        return replace(self, schedule=INTERLEAVED if several_methods or split else SEQUENTIAL)

    def describe(self) -> str:
        """What the files record (cfgbench_settings) and the progress line says."""
        loops = f"{self.loops} reads per value" if self.loops else f"reads per value calibrated to {self.min_time:g} s"
        where = "in this process" if self.in_process else f"{self.processes} processes"
        pinned = f", pinned to CPU {self.affinity}" if self.affinity else ""
        if self.schedule == SEQUENTIAL:
            how = f"sequential: {where} x {self.values} values of each benchmark in turn (+{self.warmups} warmup)"
        else:
            how = f"{self.schedule}: {where} x {self.values} rounds (+{self.warmups} warmup)"
        return f"{how}, {loops}{pinned}"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Settings:
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


# Named, because the CI job's root step may choose only a name (sudoers allows a name, not free arguments).
PRESETS: dict[str, Settings] = {
    "default": Settings(),
    "fast": Settings(processes=10, values=2),  # pyperf's --fast: half the processes, two thirds of the values
    "rigorous": Settings(processes=40),
    "quick": Settings(in_process=True, processes=1, values=12, min_time=0.004, quiet=True),  # a smoke test
    # The lab guest: one process (Python starts slowly under TCG), many short rounds (design.md says why).
    "lab": Settings(in_process=True, processes=1, values=32, min_time=0.003, schedule=INTERLEAVED, quiet=True),
}


def check_cpus_online(affinity: str) -> set[int]:
    """The CPUs of an --affinity list, all of them online and ours to use."""
    cpus = parse_cpu_list(affinity)
    online = online_cpus()
    allowed = os.sched_getaffinity(0)
    absent = sorted(cpus - online) if online is not None else []
    forbidden = sorted(cpus - allowed - set(absent))
    if absent or forbidden:
        what = f"not online ({', '.join(map(str, absent))})" if absent else \
            f"not allowed to this process ({', '.join(map(str, forbidden))})"
        usable = ",".join(map(str, sorted(allowed & online if online is not None else allowed)))
        raise CfgbenchError(f"--affinity {affinity}: CPUs {what}", f"choose from the CPUs online here: {usable}")
    return cpus
