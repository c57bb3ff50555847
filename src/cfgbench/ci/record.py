"""The workflow's final job: every runner's run in one fleet table, and into the history under its name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cfgbench.history import fleet
from cfgbench.ci.layout import result_files
from cfgbench.errors import CfgbenchError
from cfgbench.history.store import Added, add_to_history
from cfgbench.history.trend import DEFAULT_LAST, HistoryReport, history_report
from cfgbench.history.trend import render_markdown as render_trend

ARTIFACT_PREFIX = "cfgbench-"


@dataclass(frozen=True)
class Recorded:
    runners: tuple[str, ...]
    fleet: fleet.Fleet
    added: tuple[Added, ...]
    trend: HistoryReport


def runner_dirs(runs_dir: Path) -> list[Path]:
    """`<runs>/cfgbench-<runner>` directories holding result files, by name."""
    if not runs_dir.is_dir():
        raise CfgbenchError(f"{runs_dir} is not a directory",
                            "give the directory the artifacts were downloaded into (one cfgbench-<runner> each)")
    return sorted(d for d in runs_dir.iterdir()
                  if d.is_dir() and d.name.startswith(ARTIFACT_PREFIX) and result_files(d))


def runner_name(directory: Path) -> str:
    return directory.name.removeprefix(ARTIFACT_PREFIX)


def record(runs_dir: Path | str, history_dir: Path | str, commit: str, last: int | None = DEFAULT_LAST,
           reference: str | None = None) -> Recorded:
    runs_dir = Path(runs_dir)
    dirs = runner_dirs(runs_dir)
    if not dirs:
        raise CfgbenchError(f"no cfgbench-<runner> directory with result files in {runs_dir}",
                            "every bench job failed before uploading, or the artifacts were not downloaded there")
    table = fleet.fleet_report(dirs, reference)
    added: list[Added] = []
    for directory in dirs:
        added += add_to_history(history_dir, result_files(directory), commit, runner_name(directory))
    trend = history_report(history_dir, last=last)
    return Recorded(tuple(runner_name(d) for d in dirs), table, tuple(added), trend)


def render_markdown(recorded: Recorded) -> str:
    lines = [f"## cfgbench fleet: {', '.join(recorded.runners)}", "",
             fleet.render_markdown(recorded.fleet).rstrip("\n")]
    new = [a for a in recorded.added if not a.already_there]
    lines += ["", f"Added {len(new)} file{'s' * (len(new) != 1)} to the history"
              + (f" ({len(recorded.added) - len(new)} already there)." if len(new) != len(recorded.added) else "."),
              "", render_trend(recorded.trend).rstrip("\n")]
    return "\n".join(lines) + "\n\n"
