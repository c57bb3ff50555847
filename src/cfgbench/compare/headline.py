"""The end of `cfgbench run` and `cfgbench lab`, rendered from a Report: answers, caveats, details."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cfgbench.compare.model import (ANSWER_KINDS, CLUSTERS, KERNEL_PATHS, MECHANISM, MISMATCH, OTHER, PAIRED, PER_READ, UNSTABLE,
                                    UNSTABLE_RELATIVE_STDEV, Finding, Report, short_target)
from cfgbench.compare.render import answer_line, answer_words, breakdown_section, pattern_lines
from cfgbench.document import format_time

# Past this many figures a caveat is one line: forty lines saying the machine changes speed would bury the answer.
MAX_LISTED = 3
TCG_CAVEAT = ("under TCG these are QEMU's emulation costs, not VM exits: they show the mechanism (two port accesses "
              "against one load), not a hypervisor's price; KVM or bare metal give that (`cfgbench lab --accel kvm` "
              "where the CPU allows)")
PATHS_CAVEAT = ("the kernel's two paths read different registers (+0x000 below 0x100 through type 1, +0x100 through "
                "ECAM), and pci_conf1_read takes pci_config_lock where the ECAM read takes none")


@dataclass(frozen=True)
class HeadlineContext:
    unit: str = "run"  # "boot" in the lab
    values_advice: str = "record more values (--values, --processes)"
    accel: str | None = None  # "tcg": the figures are emulation costs
    between_units_note: str = ""  # shown when the answer rests on one unit
    details_hint: str = ""  # where each figure's caveats are when a line sums them up
    where: str = ""  # the machine the kernel's paths ran on, in words (a real machine, not the lab)


@dataclass(frozen=True)
class Headline:
    answers: list[str]
    caveats: list[str]
    details: list[str]


def _answers(report: Report, context: HeadlineContext) -> list[str]:
    """Per target its answer rows, then the kernel's two paths."""
    rows = report.answer_rows()
    by_target: dict[str, list[str]] = {}
    for a in rows:
        if a.kind in (MECHANISM, OTHER):
            by_target.setdefault(a.target, []).append(answer_words(a))
    machine = f"this machine ({context.where}): " if context.where else ""
    return [f"{short_target(t)}: " + "; ".join(words) for t, words in by_target.items()] + \
        [machine + answer_line(a) for a in rows if a.kind == KERNEL_PATHS]


def _hint(context: HeadlineContext) -> str:
    return f"; {context.details_hint}" if context.details_hint else ""


def _summed_up(listed: list[str], summary: str) -> tuple[list[str], list[str]]:
    """(caveats, details): the lines when they are few, else one line, and the lines as details."""
    return (listed, []) if len(listed) <= MAX_LISTED else ([summary], listed)


def _caveats_of(found: Sequence[Finding], kind: str, context: HeadlineContext) -> tuple[list[str], list[str]]:
    listed = [f.text(context.values_advice) for f in found]
    if not found:
        return [], []
    hint = _hint(context)
    if kind == UNSTABLE:
        examples = ", ".join(f"{f.where} {f.sample.std / f.sample.mean:.0%}" for f in found[:MAX_LISTED] if f.sample)
        return _summed_up(listed, f"{len(found)} figures are unstable (std dev over {UNSTABLE_RELATIVE_STDEV:.0%} of "
                                  f"the mean: {examples}, ...): {context.values_advice}{hint}")
    if kind == CLUSTERS:
        factors = [f.clusters.high / f.clusters.low for f in found if f.clusters]
        first = found[0].clusters
        assert first is not None
        return _summed_up(listed, f"{len(found)} figures fall into two clusters {min(factors):.2f}-{max(factors):.2f}x "
                                  f"apart (e.g. {found[0].where}: {format_time(first.low)} and {format_time(first.high)}): "
                                  "the machine switched state during the run; the values of one round met the same "
                                  f"state, which the paired ratios above cancel{hint}")
    return _summed_up(listed, f"{len(found)} figures: {found[0].note} (e.g. {found[0].where}){hint}")


def _speed_line(unstable: Sequence[Finding], clustered: Sequence[Finding], context: HeadlineContext) -> str:
    """Under TCG every figure moves with the machine: one line, not one per figure."""
    said = [f"{len(unstable)} figures vary by over {UNSTABLE_RELATIVE_STDEV:.0%} of their mean"] if unstable else []
    if clustered:
        top = max(f.clusters.high / f.clusters.low for f in clustered if f.clusters)
        said.append(f"{len(clustered)} fall into two clusters up to {top:.2f}x apart")
    return (f"this machine changes speed during a run ({', '.join(said)}): each round times every method at the same "
            "speed, so the paired ratios above cancel it; compare ratios, not times" + _hint(context))


def summarize(report: Report, context: HeadlineContext) -> Headline:
    answers = _answers(report, context)
    estimates = [a.estimate for a in report.answers]
    caveats, details = [], []
    if max((len(e.per_run) for e in estimates), default=1) <= 1 and context.between_units_note and estimates:
        caveats.append(f"one {context.unit}: the intervals above are within it; {context.between_units_note}")
    if context.accel == "tcg":
        caveats.append(TCG_CAVEAT)
    if report.rows(KERNEL_PATHS) and context.where:
        caveats.append(PATHS_CAVEAT)
    by_kind = {kind: [f for f in report.findings if f.kind == kind] for kind in (UNSTABLE, CLUSTERS, PER_READ, MISMATCH)}
    paired = bool(estimates) and all(e.design == PAIRED for e in estimates)
    if context.accel == "tcg" and paired and (by_kind[UNSTABLE] or by_kind[CLUSTERS]):
        caveats.append(_speed_line(by_kind[UNSTABLE], by_kind[CLUSTERS], context))
        details += [f.text(context.values_advice) for f in by_kind[UNSTABLE] + by_kind[CLUSTERS]]
        kinds: tuple[str, ...] = (PER_READ, MISMATCH)
    else:
        kinds = (UNSTABLE, CLUSTERS, PER_READ, MISMATCH)
    for kind in kinds:
        more_caveats, more_details = _caveats_of(by_kind[kind], kind, context)
        caveats += more_caveats
        details += more_details
    # The other pairs (the kernel's gross time against pio): named by their figure, as the caveats are.
    details += [f"{a.label} {short_target(a.target)}: {answer_words(a).removeprefix(a.label + ' ')}"
                for a in (report.rows(OTHER) if report.rows(*ANSWER_KINDS) else [])]  # else they are the answers
    return Headline(answers, caveats, details)


def end_of_run(report: Report, context: HeadlineContext, where: Sequence[str] = (), after: Sequence[str] = (),
               verbose: bool = False, breakdown: bool = False) -> list[str]:
    """The answers, `after` (the lab's enumeration), `where` (the figure), the caveats; the details with verbose."""
    found = summarize(report, context)
    lines = [*found.answers, *pattern_lines(report.patterns), *after, *where, *found.caveats,
             *(found.details if verbose else ())]
    return lines + (breakdown_section(report) if verbose or breakdown else [])
