"""`cfgbench ci run|gate|promote|fleet`: the bare-metal CI job's steps (docs/ci-runner.md); `ci run` imports no numpy."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from cfgbench import access, session
from cfgbench.ci import gate as gating
from cfgbench.ci import record as recording
from cfgbench.ci import summary as summarising
from cfgbench.ci.gate import DEFAULT_RULE
from cfgbench.ci.promote import promote
from cfgbench.ci.timing import DEFAULT_SETTINGS, SETTINGS, describe, run_request
from cfgbench.cli import BOUNDED, say
from cfgbench.compare.stats import MIN_BASELINE_RUNS
from cfgbench.errors import CfgbenchError
from cfgbench.history.trend import DEFAULT_LAST, trend_with_run

DIR = click.Path(file_okay=False, path_type=Path)


def _to_summary(path: Path | None, text: str) -> None:
    """The job summary: appended to --summary, or on stdout."""
    if path is None:
        click.echo(text, nl=False)
        return
    try:
        # Non-blocking: a FIFO nobody reads is refused (ENXIO) instead of waiting; a non-UTF-8 name goes out as given.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o666)
        with open(fd, "a", encoding="utf-8", errors="surrogateescape") as out:
            out.write(text)
    except OSError as exc:
        raise CfgbenchError(f"cannot append to {path} ({exc.strerror or exc})", "check --summary") from None


@click.group()
def ci() -> None:
    """The bare-metal CI job's steps: time (as root), gate, promote, fleet."""


@ci.command("run", help=f"""Time {', '.join(access.user_methods())} on the host bridge, as the CI job does (run it as root).

The job's one command as root, so that sudoers can allow it byte for byte: `cfgbench run` with each method,
--device 0000:00:00.0, --offset 0 (and 0x100 when the host bridge has 4096 bytes), --quiet, -o RESULTS/{{method}}.json
and the named settings.""")
@click.option("--results", required=True, type=DIR, help="directory for {method}.json (it must exist)")
@click.option("--settings", type=click.Choice(SETTINGS), default=DEFAULT_SETTINGS, show_default=True,
              help="default: pyperf's own (20 processes); quick: one process, 12 rounds, a smoke test")
@click.option("--method", "-m", "methods", type=click.Choice(access.user_methods()), multiple=True,
              help="time only these methods, e.g. -m kernel on a fleet where raw access is not allowed [default: every one]")
def ci_run(results: Path, settings: str, methods: tuple[str, ...]) -> None:
    request = run_request(results, settings, methods=methods)
    say(f"ci run: {describe(request)}")
    for line in session.summary_lines(session.run(request, say)):
        click.echo(line)


@ci.command("gate")
@click.option("--results", required=True, type=DIR, help="this run's directory ({method}.json)")
@click.option("--baseline", required=True, type=DIR,
              help="the runner's baseline directory ({method}.json); missing: report only, exit 0")
@click.option("--fail-if", "fail_if", multiple=True, default=(DEFAULT_RULE,), show_default=True, metavar="STAT:LIMIT",
              help="the rule, as for cfgbench compare (repeatable)")
@click.option("--summary", type=click.Path(dir_okay=False, path_type=Path), envvar="GITHUB_STEP_SUMMARY",
              show_envvar=True, help="append the markdown report here [default: stdout]")
@click.option("--runner", default=None, metavar="NAME", help="the runner's label, for the report and the history")
@click.option("--history", "history_dir", type=DIR, default=None,
              help="a history (cfgbench history add): show the runner's trend with this run as the newest point")
@click.option("--last", type=BOUNDED, default=DEFAULT_LAST, show_default=True,
              help="with --history: runs of each series to show")
@click.option("--artifact", default=None, metavar="NAME", help="the artifact holding this run, for the promote commands")
@click.option("--run-id", envvar="GITHUB_RUN_ID", show_envvar=True, default=None, help="for the promote commands")
@click.option("--repository", envvar="GITHUB_REPOSITORY", show_envvar=True, default=None, metavar="OWNER/NAME",
              help="for the promote commands")
@click.option("--commit", envvar="GITHUB_SHA", show_envvar=True, default=None, metavar="SHA",
              help="this run's commit, for the trend and the promote commands")
@click.option("--allow-other-environment", is_flag=True, help="gate against a baseline from another environment")
def ci_gate(results: Path, baseline: Path, fail_if: tuple[str, ...], summary: Path | None, runner: str | None,
            history_dir: Path | None, last: int, artifact: str | None, run_id: str | None, repository: str | None,
            commit: str | None, allow_other_environment: bool) -> None:
    """Gate this run against the runner's baseline (per method, as compare --fail-if) and write the job summary.

    Exit 0: no regression, or no baseline yet; 1: regression; 2: error; 3: inconclusive (the worst method decides;
    docs/ci-runner.md)."""
    if history_dir is not None and runner is None:
        raise CfgbenchError("--history needs --runner", "name the runner's machine in the history, e.g. --runner bare-metal-1")
    report = gating.gate_run(results, baseline, fail_if, allow_other_environment)
    where = summarising.Provenance(runner, artifact, run_id, repository, commit)
    trend, note = None, ""
    if history_dir is not None and runner is not None:
        this_run = [m.result for m in report.methods if m.result.exists()]
        trend = trend_with_run(history_dir, runner, this_run, commit, last)
        note = "" if trend else f"No history in `{history_dir}` yet."
    markdown = summarising.render_markdown(report, where, trend, note)
    for line in summarising.github_annotations(report, where):
        click.echo(line)
    for line in summarising.outcome_lines(report):
        click.echo(line)
    _to_summary(summary, markdown)
    say(f"ci gate: {report.outcome} (exit {report.exit_code})")
    sys.exit(report.exit_code)


@ci.command("promote")
@click.option("--results", "results_dirs", required=True, multiple=True, type=DIR,
              help="a run's directory ({method}.json), e.g. a downloaded artifact (repeatable)")
@click.option("--baseline", required=True, type=DIR, help="the runner's baseline directory (created if missing)")
def ci_promote(results_dirs: tuple[Path, ...], baseline: Path) -> None:
    """Append each RESULTS/{method}.json to BASELINE/{method}.json; a run from another environment is refused."""
    done = promote(results_dirs, baseline)
    for promoted in done:
        verb = "already in the baseline" if promoted.already_there else "promoted"
        click.echo(f"{verb}: {promoted.source} -> {promoted.baseline} ({promoted.runs} "
                   f"run{'s' * (promoted.runs != 1)})")
    short = sorted({p.baseline.name for p in done if not p.enough})
    if short:
        say(f"{', '.join(short)} in {baseline} hold fewer than {MIN_BASELINE_RUNS} runs: "
            "the gate stays inconclusive until you promote more")


@ci.command("fleet")
@click.option("--runs", "runs_dir", required=True, type=DIR,
              help="the downloaded artifacts: one cfgbench-<runner> directory per runner")
@click.option("--history", "history_dir", required=True, type=DIR, help="the history to add every runner's files to")
@click.option("--commit", envvar="GITHUB_SHA", show_envvar=True, required=True, metavar="SHA", help="the runs' commit")
@click.option("--summary", type=click.Path(dir_okay=False, path_type=Path), envvar="GITHUB_STEP_SUMMARY",
              show_envvar=True, help="append the markdown here [default: stdout]")
@click.option("--trend", "trend_png", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="also draw the history's trend into this image (never replaced)")
@click.option("--last", type=BOUNDED, default=DEFAULT_LAST, show_default=True,
              help="runs of each series to show")
def ci_fleet(runs_dir: Path, history_dir: Path, commit: str, summary: Path | None, trend_png: Path | None,
             last: int) -> None:
    """The final job: the fleet table, each RUNS/cfgbench-<runner>/ added to HISTORY/<runner>/, the trend."""
    # Refused before anything is added to the history: a summary that cannot be appended to, two outputs in one place.
    if summary is not None and (summary.is_dir() or not summary.parent.is_dir()):
        raise CfgbenchError(f"cannot append to {summary} (a directory, or in none)", "check --summary")
    outputs = {"--history": history_dir, "--summary": summary, "--trend": trend_png}
    named = [(option, path.resolve()) for option, path in outputs.items() if path is not None]
    if clash := next(((a, b) for i, a in enumerate(named) for b in named[i + 1:] if a[1] == b[1]), None):
        raise CfgbenchError(f"{clash[0][0]} and {clash[1][0]} both name {clash[0][1]}", "give each its own path")
    if trend_png is not None:
        from cfgbench import plot as plotting

        plotting.require_matplotlib()
        plotting.check_output(trend_png, option="--trend")
    recorded = recording.record(runs_dir, history_dir, commit, last)
    for added in recorded.added:
        click.echo(f"{'already in the history' if added.already_there else 'added'}: {added.path} ({added.source})")
    markdown = recording.render_markdown(recorded)
    _to_summary(summary, markdown)
    if trend_png is not None:
        click.echo(f"wrote {plotting.plot_history(history_dir, trend_png)}")


COMMANDS: list[click.Command] = [ci]
