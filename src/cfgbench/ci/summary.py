"""What the gate says: the job summary in markdown, GitHub annotations, the promote commands."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from cfgbench.ci.gate import CiGate, MethodGate
from cfgbench.compare.render import render_markdown as render_comparison
from cfgbench.compare.stats import MIN_BASELINE_RUNS
from cfgbench.compare.threshold import ERROR, INCONCLUSIVE, NO_BASELINE, NO_REGRESSION, REGRESSION
from cfgbench.history.trend import HistoryReport
from cfgbench.history.trend import render_markdown as render_trend
from cfgbench.document import Table, format_time, to_markdown


@dataclass(frozen=True)
class Provenance:
    """Where this run came from, for the commands that promote it."""

    runner: str | None = None  # the runner's label, e.g. bare-metal-1
    artifact: str | None = None  # the artifact holding this run's files
    run_id: str | None = None  # $GITHUB_RUN_ID
    repository: str | None = None  # $GITHUB_REPOSITORY, owner/name
    commit: str | None = None  # $GITHUB_SHA


def promote_commands(gate: CiGate, where: Provenance) -> list[str]:
    """From a clone of the repository: download the run's artifact (gh), promote it, commit."""
    results = str(gate.results_dir)
    lines = []
    if where.artifact and where.run_id:
        results = f"ci-results-{where.run_id}"
        repo = f" --repo {shlex.quote(where.repository)}" if where.repository else ""
        lines.append(f"gh run download {shlex.quote(where.run_id)}{repo} --name {shlex.quote(where.artifact)} "
                     f"--dir {shlex.quote(results)}")
    baseline = shlex.quote(str(gate.baseline_dir))
    lines.append(f"cfgbench ci promote --results {shlex.quote(results)} --baseline {baseline}")
    what = f"run {where.run_id}" if where.run_id else "a CI run"
    what += f" of {where.commit[:12]}" if where.commit else ""
    who = f"{where.runner}: " if where.runner else ""
    lines.append(f"git add {baseline} && git commit -m {shlex.quote(f'ci-baseline: {who}add {what}')} -- {baseline}")
    return lines


def _rows(method: MethodGate) -> list[list[str]]:
    if method.outcome == NO_BASELINE:
        return [[method.method, "", "no baseline", "", "", f"not gated: no {method.baseline}"]]
    if method.outcome == ERROR or method.report is None:
        return [[method.method, "", "", "", "", f"**error**: {method.error}"]]
    rows = []
    report = method.report
    for verdict in report.verdicts:
        target = next(t for t in report.targets if t.name == verdict.target)
        this_run = target.samples[verdict.file_index].statistic(verdict.threshold.statistic)
        e = verdict.estimate
        interval = f"{e.low:.3g}-{e.high:.3g}x" if e.low is not None and e.high is not None else "none"
        outcome = f"**{verdict.outcome}**" if verdict.outcome != NO_REGRESSION else verdict.outcome
        if verdict.outcome == INCONCLUSIVE:
            outcome += f": {verdict.reason}"  # why it cannot decide; the other outcomes are the ratio's column
        rows.append([method.method, f"`{verdict.target}`",
                     f"{format_time(verdict.ref_value)} ({method.baseline_runs} run{'s' * (method.baseline_runs != 1)})",
                     format_time(this_run), f"{e.ratio:.3g}x (95% CI {interval}; limit {verdict.limit:.3g}x)",
                     outcome])
    return rows


def _table(gate: CiGate) -> list[str]:
    statistic = gate.rules[0].split(":")[0] if gate.rules else "median"  # the default rule's; the column says which
    header = ["method", "target", f"baseline {statistic}", f"this run {statistic}", "time ratio", "gate"]
    return to_markdown([Table(header, [row for method in gate.methods for row in _rows(method)])]).rstrip("\n").splitlines()


def _headline(gate: CiGate) -> str:
    rules = ", ".join(gate.rules)
    outcome = gate.outcome
    if outcome == NO_BASELINE:
        return f"**No baseline in `{gate.baseline_dir}` yet: this run reports, the gate ({rules}) is off (exit 0).**"
    return f"**Gate {rules}: {outcome.upper()} (exit {gate.exit_code})** against `{gate.baseline_dir}`."


def _next_steps(gate: CiGate, where: Provenance) -> list[str]:
    lines: list[str] = []
    small = [m for m in gate.methods if m.report is not None and m.baseline_runs < MIN_BASELINE_RUNS]
    missing = gate.having(NO_BASELINE)
    if missing:
        lines.append(f"- {', '.join(m.method for m in missing)}: no baseline. Promote this run (below) and "
                     f"{MIN_BASELINE_RUNS - 1} more: one run against a baseline of at least {MIN_BASELINE_RUNS} "
                     "gets a verdict; fewer stay inconclusive (exit 3).")
    if small:
        lines.append(f"- {', '.join(f'{m.method} ({m.baseline_runs})' for m in small)}: the baseline holds fewer than "
                     f"{MIN_BASELINE_RUNS} runs, so the gate cannot tell a change from run-to-run noise: promote more "
                     "runs of an unchanged commit.")
    if gate.having(INCONCLUSIVE) and not small:
        lines.append("- inconclusive: the interval straddles the limit; the run-to-run spread is too wide for "
                     "this limit. Quiet the machine (docs/ci-runner.md), or promote more runs.")
    if gate.having(REGRESSION):
        lines.append("- regression: find the commit that made it slower. If the change is meant (and the "
                     "environment is the same), promoting this run makes it part of the baseline: a slower level "
                     "mixed with the old one. Renewing the baseline (remove it, promote 3 new runs) is cleaner.")
    if gate.having(ERROR):
        lines.append("- error: see the table. A baseline from another environment (a new kernel, CPU, ...) "
                     f"must be renewed: `git rm -r {gate.baseline_dir}`, then promote {MIN_BASELINE_RUNS} runs.")
    lines += ["", "Promote this run to the baseline (appends; never replaces a run; refuses another environment):",
              "", "```sh", *promote_commands(gate, where), "```"]
    return lines


def render_markdown(gate: CiGate, where: Provenance = Provenance(), trend: HistoryReport | None = None,
                    history_note: str = "") -> str:
    title = "## cfgbench CI gate" + (f": {where.runner}" if where.runner else "")
    lines = [title, "", _headline(gate), "", *_table(gate), "", "### What next", "", *_next_steps(gate, where)]
    if gate.run_report is not None:
        methods = ", ".join(f.label for f in gate.run_report.files)
        lines += ["", f"### This run: {methods}", "", render_comparison(gate.run_report, level=2).rstrip("\n")]
    for method in gate.methods:
        if method.report is not None:
            lines += ["", f"### {method.method} against its baseline", "", render_comparison(method.report, level=2).rstrip("\n")]
    if trend is not None:
        lines += ["", "### Trend", "", render_trend(trend, level=1).rstrip("\n")]
    elif history_note:
        lines += ["", "### Trend", "", history_note]
    return "\n".join(lines) + "\n\n"  # a blank line before whatever the next step appends


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(kind: str, title: str, message: str) -> str:
    """`::notice title=...::message`, escaped as GitHub's toolkit escapes it."""
    return f"::{kind} title={_escape_property(title)}::{_escape_data(message)}"


def _verdict_lines(method: MethodGate) -> list[str]:
    assert method.report is not None
    return [f"{method.method} {v.target}: {v.outcome}: {v.estimate.ratio:.3g}x the baseline's {v.threshold.statistic} "
            f"({v.reason})" for v in method.report.verdicts if v.outcome != NO_REGRESSION]


def github_annotations(gate: CiGate, where: Provenance = Provenance()) -> list[str]:
    """A notice for a missing baseline, a warning for an inconclusive gate, an error for a regression or an error."""
    on = f" on {where.runner}" if where.runner else ""
    lines = []
    missing = gate.having(NO_BASELINE)
    if missing:
        promote = promote_commands(gate, where)
        lines.append(workflow_command(
            "notice", f"cfgbench: no baseline{on}",
            f"{', '.join(m.method for m in missing)}: no baseline in {gate.baseline_dir}, so this run only reports. "
            f"To start one, promote this run (and {MIN_BASELINE_RUNS - 1} more): " + "; ".join(promote)))
    for method in gate.having(ERROR):
        lines.append(workflow_command("error", f"cfgbench: gate error{on}", f"{method.method}: {method.error}"))
    for kind, outcome in (("error", REGRESSION), ("warning", INCONCLUSIVE)):
        lines += [workflow_command(kind, f"cfgbench: {outcome}{on}", line) for method in gate.having(outcome)
                  for line in _verdict_lines(method)]
    return lines


def outcome_lines(gate: CiGate) -> list[str]:
    lines = []
    for method in gate.methods:
        if method.outcome == ERROR:
            lines.append(f"{method.method}: error: {method.error}")
        elif method.outcome == NO_BASELINE:
            lines.append(f"{method.method}: no baseline ({method.baseline}): reported, not gated")
        else:
            lines.append(f"{method.method}: {method.outcome} against {method.baseline} ({method.baseline_runs} runs)")
    return lines
