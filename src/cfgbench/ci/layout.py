"""Where the CI job keeps its files: one directory per run and per baseline, `{method}.json` in each."""

from __future__ import annotations

from pathlib import Path

from cfgbench import access
from cfgbench.errors import CfgbenchError

RESULT_PATTERN = "{method}.json"


def method_of_path(path: Path) -> str:
    return path.name.removesuffix(".json")


def result_files(directory: Path, what: str = "results") -> list[Path]:
    """The `{method}.json` files in the registry's order; dot files (a write in progress) are skipped."""
    if not directory.is_dir():
        state = "is not a directory" if directory.exists() else "does not exist"
        raise CfgbenchError(f"the {what} directory {directory} {state}",
                            "give the directory `cfgbench ci run` wrote (e.g. ci-results)")
    files = [p for p in directory.glob("*.json") if not p.name.startswith(".")]
    return sorted(files, key=lambda p: access.rank(method_of_path(p)))


def baseline_files(directory: Path) -> list[Path]:
    return result_files(directory, "baseline") if directory.is_dir() else []
