"""The enumeration A/B's lab side (issue 17): the config-order module, the census against the
guest kernel's own count, and the paired rescans, in ONE census guest (medium tree: a switch
and multi-function devices; one vCPU; the module loaded), plus one short boot without ECAM
(the module must refuse to load there). (The guards that need no
guest are in tests/test_enumeration_guards.py.)"""

from __future__ import annotations

import json
import shlex
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from cfgbench import runs
from cfgbench.compare import stats
from cfgbench.errors import LabError
from cfgbench.lab.guest import GuestConfig, GuestResult, run_in_guest
from cfgbench.lab.census import KEYS
from cfgbench.lab.qemu import TREES
from cfgbench.results import load_suite

PORT = TREES["medium"].rescan_port  # a switch (3 ports) and two 4-function devices below it
SMALL_PORT = TREES["default"].rescan_port  # one e1000e below it (the medium tree keeps it)
AB_ROUNDS = 4
SRC = Path(__file__).resolve().parents[2] / "src" / "cfgbench"

GUEST_SCRIPT = textwrap.dedent(r"""
    set -u
    out=$CFGBENCH_LAB_OUT
    py={python}
    $py -m cfgbench.lab.enumeration census --port {port} --out "$out" > "$out/census.out" 2>&1 || exit 10
    $py -m cfgbench.lab.enumeration ab --port {small} --rounds {rounds} --loops 1 --seed 7 --traced 2 --out "$out" \
        > "$out/ab.txt" 2>&1 || exit 11
    # Switch to ECAM only, unload the module, and count one more rescan: type 1 must be back.
    $py - > "$out/unload.json" 2> "$out/unload.err" <<'PY' || exit 12
    import json, subprocess
    from cfgbench.lab.enumeration import MODULE_PARAMETERS, AccessorCount, Rescan, set_order
    rescan = Rescan("{small}", "ecam-only")
    set_order("ecam-only")
    subprocess.run(["rmmod", "cfgbench_pci_order"], check=True)
    counter = AccessorCount()
    rescan.remove()
    with counter:
        rescan.rescan()
    print(json.dumps({{"loaded": MODULE_PARAMETERS.exists(), "kernel_counts": dict(counter.counts())}}))
    counter.close()
    PY
""")


@dataclass
class Boot:
    result: GuestResult
    out: Path

    def json(self, name: str) -> object:
        return json.loads((self.out / name).read_text())


@pytest.fixture(scope="module")
def boot(lab_installed: None, tmp_path_factory: pytest.TempPathFactory) -> Boot:
    out = tmp_path_factory.mktemp("enumeration")
    script = GUEST_SCRIPT.format(python=shlex.quote(sys.executable), port=PORT, small=SMALL_PORT, rounds=AB_ROUNDS)
    result = run_in_guest(["sh", "-c", script], GuestConfig(accel="tcg", smp=1, tree="medium", pci_order_module=True,
                                                             census=True, timeout_s=300), outdir=out)
    assert result.returncode == 0, f"{result.returncode}: {result.output}" + "".join(
        f"\n--- {p.name}\n{p.read_text()}" for p in sorted(out.glob("*.out")) + sorted(out.glob("*.err")))
    return Boot(result, out)


@pytest.mark.lab
def test_ecam_only_sends_every_access_of_a_rescan_through_ecam(boot: Boot) -> None:
    rows = boot.json("kernel-counts.json")
    assert isinstance(rows, list)
    assert [row["order"] for row in rows] == ["type1-first", "ecam-only", "type1-first"]
    first, ecam_only, back = (row["kernel_counts"] for row in rows)
    assert first.get("type1-read", 0) > 0 and back.get("type1-read", 0) > 0
    assert ecam_only.get("type1-read", 0) == ecam_only.get("type1-write", 0) == 0
    assert ecam_only["ecam-read"] == first["type1-read"] + first.get("ecam-read", 0)  # the same reads, moved
    # QEMU saw the same: no access of the ECAM-only rescan reached the type 1 ports.
    windows = boot.result.census.windows if boot.result.census else []
    assert windows[1].tally.count("type1") == 0 and windows[1].tally.address_writes == 0


@pytest.mark.lab
def test_the_emulator_and_the_guest_kernel_count_the_same_accesses(boot: Boot) -> None:
    census = boot.result.census
    assert census is not None
    rows = boot.json("kernel-counts.json")
    assert isinstance(rows, list)
    assert [w.label for w in census.windows] == [f"rescan {PORT} {row['order']}" for row in rows]
    for window, row in zip(census.windows, rows, strict=True):
        assert window.tally.disagreement(row["kernel_counts"]) == {}, row["order"]
        # Below a switch some probes find nothing (functions 1-7 of single-function ports):
        # QEMU answers them without a pci_cfg event, and the kernel counts them all the same.
        assert sum(window.tally.answered.values()) < window.tally.reads + window.tally.writes


@pytest.mark.lab
def test_the_census_splits_the_boot_into_its_phases(boot: Boot) -> None:
    census = boot.result.census
    assert census is not None and census.firmware_end == "kernel_entry"
    phases = census.phases
    assert phases["firmware"].reads > 0 and phases["boot"].reads > phases["firmware"].reads
    assert phases["command"].reads >= sum(w.tally.reads for w in census.windows)
    assert census.markers == 2 + 2 * len(census.windows)
    assert set(phases["command"].accesses) <= set(KEYS)


@pytest.mark.lab
def test_the_engine_times_both_orders_in_paired_rounds(boot: Boot) -> None:
    """One file per order, the same benchmark in each: compare pairs their values by round."""
    name = f"rescan {SMALL_PORT}"
    files = {order: load_suite(boot.out / f"lab-rescan-{order}.json").get_benchmark(name)
             for order in ("type1-first", "ecam-only")}
    for order, bench in files.items():
        md = bench.get_metadata()
        assert (md["cfgbench_kernel_order"], md["cfgbench_target"], md["cfgbench_rescan_functions"]) == (order, SMALL_PORT, 1)
        assert md["cfgbench_kernel_read"] == "pci_conf1_read" and md["cfgbench_schedule"] == "interleaved"
        assert len(bench.get_values()) == AB_ROUNDS and all(v > 0 for v in bench.get_values())
    estimate = stats.estimate(files["type1-first"], files["ecam-only"])
    assert estimate.design == stats.PAIRED and estimate.units == AB_ROUNDS
    assert estimate.low is not None and estimate.high is not None and estimate.low < estimate.ratio < estimate.high
    # A fresh random order each round (seed 7): type 1 first was timed first in some rounds, second in others.
    [record] = runs.run_records(files["type1-first"])
    assert {int(p) for p in record.metadata["cfgbench_round_positions"].split(",")} == {0, 1}


@pytest.mark.lab
def test_traced_rescans_time_every_accessor_call_in_situ_in_each_order(boot: Boot) -> None:
    """`cfgbench lab --in-situ`'s write price: each rescan's accessor calls timed by function_graph, in order."""
    from cfgbench.lab.enumeration_job import write_extra

    rows = boot.json("accessor-times.json")
    assert isinstance(rows, list) and sorted(row["order"] for row in rows) == ["ecam-only"] * 2 + ["type1-first"] * 2
    for row in rows:
        mechanism = "ecam" if row["order"] == "ecam-only" else "type1"
        assert {key.split("-")[0] for key, _ in row["calls"] if key.endswith("read")} == {mechanism} or \
            mechanism == "type1"  # type 1 first still reads 0x100 and up through ECAM
        assert all(seconds > 0 for _, seconds in row["calls"]) and row["accessors"][f"{mechanism}-write"][0] > 0
    found = write_extra(rows)
    assert found is not None and found[1] == 2  # every write priced, over the 2 traced rescans per order


@pytest.mark.lab
def test_unloading_the_module_restores_the_kernels_order(boot: Boot) -> None:
    unload = boot.json("unload.json")
    assert isinstance(unload, dict)
    assert unload["loaded"] is False
    assert unload["kernel_counts"].get("type1-read", 0) > 0


@pytest.mark.lab
def test_the_module_refuses_to_load_without_ecam(lab_installed: None, tmp_path: Path) -> None:
    with pytest.raises(LabError, match="insmod cfgbench_pci_order") as refused:
        run_in_guest(["true"], GuestConfig(accel="tcg", smp=1, pci_order_module=True, extra_cmdline=("pci=nommconf",),
                                           timeout_s=120), outdir=tmp_path)
    # ENODEV from the module's own check (not, say, an oops through the missing ECAM ops).
    assert "cfgbench_pci_order.ko': No such device" in refused.value.console
