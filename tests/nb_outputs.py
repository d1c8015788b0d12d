"""What a figure cell must not show beside its figure: the repr of a return value (a `PosixPath(...)` from a
call that returns a path, a `<Figure size ...>` or `[<matplotlib.lines.Line2D ...>]` from a call left as the
cell's last expression). `clutter(outputs)` lists them for one executed cell; the repository's conftest.py
applies it to every notebook cell that `make test` executes at the smoke profile."""
from __future__ import annotations

import re

PATH_REPR = re.compile(r"\b(?:Posix|Windows|Pure\w*)?Path\(['\"]")
ARTIST_REPR = re.compile(r"^\s*[\[(]?\s*<(?:Figure size|matplotlib\.|Axes|seaborn\.)|^\s*\[?Text\(|^\s*<AxesSubplot")
IMAGE_TYPES = ("image/png", "image/svg+xml", "image/jpeg")


def _texts(output) -> list[tuple[str, str]]:
    """(kind, text) of one nbformat output: stream text or the text/plain of a result or display."""
    if output.get("output_type") == "stream":
        return [("printed", output.get("text", ""))]
    data = output.get("data", {})
    text = data.get("text/plain", "")
    if isinstance(text, list):
        text = "".join(text)
    kind = "cell value" if output.get("output_type") == "execute_result" else "display"
    return [(kind, text)] if text else []


def clutter(outputs) -> list[str]:
    """Problems in one executed cell's outputs: any path repr, and beside a figure any artist repr shown as
    the cell's value."""
    has_figure = any(t in o.get("data", {}) for o in outputs for t in IMAGE_TYPES)
    problems = []
    for o in outputs:
        for kind, text in _texts(o):
            if PATH_REPR.search(text):
                problems.append(f"a path repr ({kind}): {text.strip()[:120]}")
            elif has_figure and kind == "cell value" and ARTIST_REPR.search(text):
                problems.append(f"a return value beside the figure: {text.strip()[:120]}")
    return problems
