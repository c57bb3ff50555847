"""The kernel floor's evidence, parsed: a function_graph trace taken in the
lab guest (tests/data/ftrace-kernel-floor.txt, `python -m cfgbench.lab.calltrace`
as tests/lab/test_where_the_time_goes.py runs it) shows each read and its floor, as
root and as nobody; the parser and the comparison are checked on it here."""

from __future__ import annotations

from pathlib import Path

from cfgbench.lab import calltrace
from cfgbench.lab.calltrace import Call, access_calls, floor_difference, marker, parse

TRACE = Path(__file__).parent / "data" / "ftrace-kernel-floor.txt"
PATH_TO_SYSFS = ["__x64_sys_pread64", "vfs_read", "kernfs_fop_read_iter", "sysfs_kf_bin_read"]


def graphs() -> dict[str, Call]:
    return parse(TRACE.read_text())


def test_every_marked_read_has_its_graph() -> None:
    assert sorted(graphs()) == sorted(
        [marker("root", what, label) for label in ("type1", "ecam") for what in ("read", "floor", "end-of-file")]
        + [marker("nobody", what, "type1") for what in ("read", "floor")])
    assert all(g.name == "__x64_sys_pread64" for g in graphs().values())


def test_reads_reach_their_mechanism_through_pci_read_config() -> None:
    g = graphs()
    tail = ["pci_read_config", "pci_user_read_config_dword", "pci_read"]
    for who in ("root", "nobody"):
        assert g[marker(who, "read", "type1")].path_to(calltrace.TYPE1_CALL) == [*PATH_TO_SYSFS, *tail, "pci_conf1_read"]
    assert g[marker("root", "read", "ecam")].path_to(calltrace.ECAM_CALL) == [*PATH_TO_SYSFS, *tail, "pci_mmcfg_read"]


def test_the_floor_is_the_reads_path_without_the_access() -> None:
    g = graphs()
    for who, label in (("root", "type1"), ("root", "ecam"), ("nobody", "type1")):
        read, floor = g[marker(who, "read", label)], g[marker(who, "floor", label)]
        assert floor_difference(read, floor) == [], (who, label)
        assert floor.path_to(calltrace.CAPABILITY_CHECK) == [*PATH_TO_SYSFS, "pci_read_config", "file_ns_capable"]
        assert access_calls(floor) == []
        assert "pci_user_read_config_dword" in {c.name for c in access_calls(read)}
        assert not floor.names() & {calltrace.TYPE1_CALL, calltrace.ECAM_CALL, "pci_config_pm_runtime_get"}


def test_the_end_of_file_fallback_stops_before_pci_read_config() -> None:
    g = graphs()
    difference = floor_difference(g[marker("root", "read", "type1")], g[marker("root", "end-of-file", "type1")])
    assert [line.replace(" ", "") for line in difference] == ["-pci_read_config", "-file_ns_capable", "-security_capable"]


def test_an_interrupt_during_a_read_is_not_its_path() -> None:
    """This trace caught one (timer softirqs during root's ECAM floor): its
    fragments are dropped, the rest is compared."""
    text = TRACE.read_text()
    section = text[text.index(marker("root", "floor", "ecam")):text.index(marker("root", "end-of-file", "ecam"))]
    assert "handle_softirqs() {" in section and "irq_enter_rcu();" in section
    assert not parse(text)[marker("root", "floor", "ecam")].names() & set(calltrace.INTERRUPT_CALLS)


def test_the_comparison_has_teeth() -> None:
    """A floor that still reads, or that skips work the read does, is told apart."""
    g = graphs()
    read = g[marker("root", "read", "type1")]
    assert floor_difference(read, read) != []  # the read is not its own floor
    skipping = parse(TRACE.read_text().replace("kernfs_get_active();", "kernfs_other();"))
    assert [line.replace(" ", "") for line in floor_difference(read, skipping[marker("root", "floor", "type1")])] \
        == ["-kernfs_get_active", "+kernfs_other"]


def test_the_guest_script_traces_every_pread_without_interrupts() -> None:
    script = calltrace.guest_script("/usr/bin/python3")
    assert "echo __x64_sys_pread64 > $T/set_graph_function" in script
    assert "echo 0 > $T/options/funcgraph-irqs" in script
    assert "setpriv --reuid=65534" in script and "/usr/bin/python3 -m cfgbench.lab.calltrace reads nobody" in script
