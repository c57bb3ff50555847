"""The enumeration's guards that need no guest: only the guest's init loads a
module, a missing module build names the setup script and stops the lab before
QEMU, the rescans and markers refuse outside the lab guest, and a census guest
has one vCPU. (tests/lab/test_enumeration.py boots the guests.)"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from cfgbench.errors import LabError
from cfgbench.lab import guest
from cfgbench.lab.guest import GuestConfig, run_in_guest
from cfgbench.lab.kernel import GuestKernel, pci_order_module

SRC = Path(__file__).resolve().parents[1] / "src" / "cfgbench"



def code_words(path: Path) -> list[str]:
    """The strings and names a module's code uses: no comments, no docstrings."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    words = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            words.append(node.value)
        elif isinstance(node, ast.Name):
            words.append(node.id)
        elif isinstance(node, ast.Attribute):
            words.append(node.attr)
    return words


def test_only_the_guests_init_loads_a_module() -> None:
    loaders = re.compile(r"\b(insmod|modprobe|f?init_module)\b")
    naming = sorted(str(path.relative_to(SRC)) for path in SRC.rglob("*.py")
                    if any(loaders.search(word) for word in code_words(path)))
    assert naming == ["lab/initramfs.py"]  # the guest init's busybox insmod
    callers = sorted(str(path.relative_to(SRC)) for path in SRC.rglob("*.py")
                     if any(isinstance(node, ast.Call) and ast.unparse(node.func).endswith("pci_order_module")
                            for node in ast.walk(ast.parse(path.read_text()))))
    assert callers == ["lab/guest.py"]


def test_a_missing_module_build_names_the_setup_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CFGBENCH_LAB_CACHE", str(tmp_path))
    kernel = GuestKernel(tmp_path / "vmlinux-6.1.0-57-amd64", "6.1.0-57-amd64", None)
    with pytest.raises(LabError) as missing:
        pci_order_module(kernel)
    assert "\n" not in missing.value.one_line() and "run scripts/setup-lab.sh" in missing.value.one_line()
    built = tmp_path / "kmod" / "6.1.0-57-amd64" / "cfgbench_pci_order.ko"
    built.parent.mkdir(parents=True)
    built.write_bytes(b"\x7fELF")
    assert pci_order_module(kernel) == built


def test_a_missing_module_stops_the_lab_before_qemu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    image = tmp_path / "vmlinux-6.1.0-57-amd64"
    image.write_bytes(b"\x7fELF")
    monkeypatch.setenv("CFGBENCH_LAB_CACHE", str(tmp_path))
    monkeypatch.setattr(guest, "find_qemu", lambda: Path("/nonexistent/qemu"))
    monkeypatch.setattr(guest, "qemu_version", lambda _qemu: pytest.fail("the module must be missed before QEMU runs"))
    with pytest.raises(LabError, match="config-order module is not built"):
        run_in_guest(["true"], GuestConfig(accel="tcg", kernel=image, pci_order_module=True))


def test_rescans_and_markers_refuse_outside_the_lab_guest(monkeypatch: pytest.MonkeyPatch) -> None:
    from cfgbench.lab.enumeration import AccessorCount, Rescan, set_order
    from cfgbench.lab.census import Marker

    monkeypatch.delenv("CFGBENCH_LAB", raising=False)
    for make in (lambda: Rescan("0000:00:00.0", "ecam-only"), lambda: set_order("ecam-only"), AccessorCount, Marker):
        with pytest.raises(LabError, match="lab guest"):
            make()


def test_a_census_guest_needs_one_vcpu() -> None:
    with pytest.raises(LabError, match="one vCPU"):
        run_in_guest(["true"], GuestConfig(accel="tcg", smp=2, census=True))
