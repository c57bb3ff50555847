"""Tables as every renderer draws them: aligned text, and GitHub markdown."""

from __future__ import annotations

from collections.abc import Sequence

LEFT, RIGHT = "l", "r"


def text_table(rows: Sequence[Sequence[str]], align: str = "", indent: str = "") -> list[str]:
    """Rows (a header first, if any) as columns as wide as their widest cell,
    two spaces apart; `align` gives each column LEFT or RIGHT (default LEFT)."""
    if not rows:
        return []
    columns = max(len(row) for row in rows)
    widths = [max(len(row[c]) for row in rows if c < len(row)) for c in range(columns)]
    lines = []
    for row in rows:
        cells = [cell.rjust(w) if align[c:c + 1] == RIGHT else cell.ljust(w)
                 for c, (cell, w) in enumerate(zip(row, widths, strict=False))]
        lines.append((indent + "  ".join(cells)).rstrip())
    return lines


def md_escape(text: str) -> str:
    """A cell's text, safe inside a markdown table row."""
    return text.replace("|", "\\|")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> list[str]:
    """A GitHub markdown table, cells escaped; `align` as for text_table."""
    rule = ["---:" if align[c:c + 1] == RIGHT else "---" for c in range(len(header))]
    return ["| " + " | ".join(md_escape(cell) for cell in row) + " |"
            for row in (header, rule, *rows)] if header else []
