"""scripts/ci-install.sh, the workflow's install step: when it reuses a kept environment, and its refusals.

Building an environment takes pip and a compiler (tests/lab/test_workflow_e2e.py
does that); here the decisions only: the stamp and the link."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "ci-install.sh"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A small stand-in for the checkout: what the stamp reads."""
    tree = tmp_path / "checkout"
    (tree / "src" / "cfgbench").mkdir(parents=True)
    (tree / "scripts").mkdir()
    shutil.copy2(SCRIPT, tree / "scripts" / "ci-install.sh")
    for name in ("pyproject.toml", "setup.py"):
        shutil.copy2(ROOT / name, tree / name)
    (tree / "src" / "cfgbench" / "__init__.py").write_text("__version__ = '0'\n")
    return tree


def install(tree: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "HOME": str(tree.parent)}
    return subprocess.run(["bash", "scripts/ci-install.sh", *args], cwd=tree, env=base | env,
                          capture_output=True, text=True, check=False)


def stamp(tree: Path, **env: str) -> str:
    done = install(tree, "--stamp", **env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_stamp_follows_the_source_not_the_build_products(checkout: Path) -> None:
    first = stamp(checkout)
    for product in ("src/cfgbench/__pycache__/x.cpython-311.pyc", "src/cfgbench.egg-info/PKG-INFO",
                    "src/cfgbench/_native/_loops.abi3.so", "build/lib/x.py"):
        (checkout / product).parent.mkdir(parents=True, exist_ok=True)
        (checkout / product).write_text("built\n")
    assert stamp(checkout) == first
    (checkout / "src" / "cfgbench" / "new.py").write_text("x = 1\n")
    assert stamp(checkout) != first
    assert stamp(checkout, CFGBENCH_CI_EXTRAS="plot,history") != stamp(checkout)


def test_an_up_to_date_kept_environment_is_linked_not_rebuilt(checkout: Path, tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / ".cfgbench-ci-stamp").write_text(stamp(checkout) + "\n")
    (checkout / ".venv").mkdir()  # a leftover directory is replaced by the link
    done = install(checkout, CFGBENCH_CI_VENV=str(kept))
    assert done.returncode == 0, done.stderr
    assert "reusing" in done.stdout and "building" not in done.stdout
    assert (checkout / ".venv").is_symlink() and (checkout / ".venv").resolve() == kept


@pytest.mark.parametrize("case", ["not-a-checkout", "no-wheelhouse"])
def test_refusals_are_one_line(checkout: Path, tmp_path: Path, case: str) -> None:
    if case == "not-a-checkout":
        (checkout / "pyproject.toml").unlink()
        done = install(checkout)
    else:
        done = install(checkout, CFGBENCH_WHEELHOUSE=str(tmp_path / "nowhere"))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("ci-install: error:")
