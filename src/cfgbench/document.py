"""How every report writes: durations in words, and one small block model (heading, paragraph, bullets, table) as text
or markdown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LEFT, RIGHT = "l", "r"  # a table column's alignment
_UNITS = ((1e-9, "ns"), (1e-6, "us"), (1e-3, "ms"), (1.0, "s"))


def unit_for(seconds: float) -> tuple[float, str]:
    """The largest unit in which the value is at least 1, ns at the least."""
    scale, name = _UNITS[0]
    for candidate_scale, candidate_name in _UNITS:
        if abs(seconds) >= candidate_scale:
            scale, name = candidate_scale, candidate_name
    return scale, name


UNIT_SCALE = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0}


def format_time(seconds: float, spread: float | None = None, signed: bool = False) -> str:
    """`433.2 ns`, `28.4 ± 0.3 us`; the spread shares the value's unit."""
    scale, name = unit_for(seconds)
    digits = 2 if abs(seconds / scale) < 10 else 1
    sign = "+" if signed else ""
    text = f"{seconds / scale:{sign}.{digits}f}"
    if spread is not None:
        text += f" ± {spread / scale:.{digits}f}"
    return f"{text} {name}"


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2
    code: bool = False  # markdown shows it as code (a benchmark name)


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: Sequence[str]
    text_prefix: str = "  "  # text only: before each item, e.g. "warning: "


@dataclass(frozen=True)
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    align: str = ""  # LEFT or RIGHT per column, LEFT by default


Block = Heading | Paragraph | Bullets | Table


def text_table(rows: Sequence[Sequence[str]], align: str = "", indent: str = "") -> list[str]:
    if not rows:
        return []
    widths = [max(len(row[c]) for row in rows if c < len(row)) for c in range(max(len(row) for row in rows))]
    return [(indent + "  ".join(cell.rjust(w) if align[c:c + 1] == RIGHT else cell.ljust(w)
                                for c, (cell, w) in enumerate(zip(row, widths, strict=False)))).rstrip() for row in rows]


def md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def to_text(blocks: Sequence[Block]) -> str:
    """Aligned text: a blank line before each heading and paragraph; bullets and tables under them."""
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, (Heading, Paragraph)):
            lines += ([""] if lines else []) + [block.text]
        elif isinstance(block, Bullets):
            lines += [f"{block.text_prefix}{item}" for item in block.items]
        else:
            lines += text_table([block.header, *block.rows] if block.header else block.rows, block.align, indent="  ")
    return "\n".join(lines) + "\n"


def to_markdown(blocks: Sequence[Block], level: int = 0) -> str:
    """Markdown, headings `level` deeper (a report nested in another)."""
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            lines.append("#" * (block.level + level) + " " + (f"`{block.text}`" if block.code else block.text))
        elif isinstance(block, Paragraph):
            lines.append(md_escape(block.text))
        elif isinstance(block, Bullets):
            lines += [f"- {md_escape(item)}" for item in block.items]
        else:
            rule = ["---:" if block.align[c:c + 1] == RIGHT else "---" for c in range(len(block.header))]
            lines += ["| " + " | ".join(md_escape(cell) for cell in row) + " |" for row in (block.header, rule, *block.rows)]
        lines.append("")
    return "\n".join(lines)

