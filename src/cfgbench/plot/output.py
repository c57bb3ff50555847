"""Sizes, and writing an image: never over a user's file unless asked, one line for every reason it cannot be."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cfgbench import limits
from cfgbench.errors import CfgbenchError
from cfgbench.results import write_new

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PLOT_EXTRA = "pip install 'cfgbench[plot]'"


@dataclass(frozen=True)
class Drawing:
    """A figure, and what it leaves out for want of data (one phrase each, with why)."""

    figure: Figure
    left_out: tuple[str, ...] = ()


@dataclass(frozen=True)
class Written:
    path: Path
    left_out: tuple[str, ...] = ()

    def left_out_line(self) -> str | None:
        """The one line that names what the image leaves out and why, or None."""
        return f"left out of {self.path}: {'; '.join(self.left_out)}" if self.left_out else None


def parse_size(text: str | None) -> tuple[int, int] | None:
    """'1200x900' -> (1200, 900) pixels, each side within its bound; None keeps the default layout."""
    if text is None:
        return None
    match = re.fullmatch(r"(\d{1,9})[xX](\d{1,9})", text.strip())
    if not match:
        raise CfgbenchError(f"--size {text!r} is not a size", "write WIDTHxHEIGHT in pixels, e.g. 1600x1200")
    return checked_size((int(match[1]), int(match[2])))


def checked_size(size: tuple[int, int]) -> tuple[int, int]:
    """The pixels of a figure, asked or grown by its layout, each side within limits.BOUNDS."""
    typed = f"{size[0]}x{size[1]}"
    for side in size:
        limits.check("--size", side, typed)
    if size[0] * size[1] > limits.MAX_PIXELS:
        raise CfgbenchError(f"--size {typed} is {size[0] * size[1]} pixels, over the limit of {limits.MAX_PIXELS}",
                            "give a smaller --size, or plot fewer targets")
    return size


def new_figure(size: tuple[int, int], dpi: int) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = checked_size(size)
    limits.check("--dpi", dpi)
    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)  # Agg: renders without a display
    return figure


def matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def require_matplotlib() -> None:
    if not matplotlib_available():
        raise CfgbenchError("plotting needs matplotlib, which is not installed", PLOT_EXTRA)


def refuse_existing(output: Path, force: bool, option: str = "-o") -> None:
    """Never over a user's file: `option` names where the image's name was given (`run --plot` has no --force)."""
    if output.exists() and not force:
        raise CfgbenchError(f"{output} already exists", f"choose another {option} name" +
                            (", or add --force to replace it" if option == "-o" else ""))


def check_output(output: Path | str, force: bool = False, option: str = "-o") -> str:
    """The image format, after refusing what cannot or must not be written; callable before drawing (or timing)."""
    from matplotlib.backend_bases import FigureCanvasBase

    output = Path(output)
    refuse_existing(output, force, option)
    if not output.parent.is_dir():
        raise CfgbenchError(f"directory {output.parent} does not exist", "create it first, or choose another path")
    fmt = output.suffix.lstrip(".").lower()
    supported = FigureCanvasBase.get_supported_filetypes()
    if fmt not in supported:
        raise CfgbenchError(f"cannot write {output}: unknown image type {output.suffix!r}",
                            f"end the name with one of {', '.join('.' + k for k in sorted(supported))}")
    return fmt


def save_figure(figure: Figure, output: Path | str, force: bool = False) -> Path:
    """Write to a temporary file beside the output, then link it into place (replace only with force)."""
    output = Path(output)
    fmt = check_output(output, force)
    try:
        write_new(output, lambda temp: figure.savefig(temp, format=fmt), replace=force)
    except FileExistsError:
        raise CfgbenchError(f"{output} appeared while plotting", "choose another -o name, or add --force") from None
    except OSError as exc:
        raise CfgbenchError(f"cannot write {output} ({exc.strerror or exc})", "choose another -o path") from None
    return output


def save_drawing(drawing: Drawing, output: Path | str, force: bool = False) -> Written:
    return Written(save_figure(drawing.figure, output, force), drawing.left_out)
