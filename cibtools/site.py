"""`make site`: the executed notebooks of the last run rendered to HTML, to read without running anything.

`python -m cibtools.site --profile quick` converts every `runs/<profile>/NN-*.ipynb` (the runner's
executed copies) to `site/NN-*.html` and writes `site/index.html`: one line per notebook with its title,
when it ran, the profile and the commit. A link from one notebook to another (the glossary links to
`03-adversarial-examples.ipynb#glossary-...`) points to the other's page. Open `site/index.html` in a browser
(`site/` is git-ignored).
"""
from __future__ import annotations

import argparse
import html
import json
import re
import sys
import time
import urllib.parse
from pathlib import Path

from . import paths
from .profiles import check_profile
from .results import git_commit


# A link from one notebook to another (`03-adversarial-examples.ipynb#glossary-eot`): in the site, the other's page.
_NOTEBOOK_LINK = re.compile(r'href="(\d\d-[A-Za-z0-9_-]+)\.ipynb(#[A-Za-z0-9_-]*)?"')


def _title(nb: dict, fallback: str) -> str:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", "")).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def build(profile: str = "quick", runs: Path | None = None, out: Path | None = None) -> Path:
    """Render the executed notebooks of `runs/<profile>/` into `out` (default `site/`); the index path."""
    from nbconvert import HTMLExporter

    check_profile(profile)
    source = Path(runs) if runs is not None else paths.runs_dir() / profile
    books = sorted(p for p in source.glob("[0-9][0-9]-*.ipynb") if not p.name.endswith(".partial.ipynb"))
    if not books:
        raise FileNotFoundError(f"No executed notebooks in {source}: run `make reproduce PROFILE={profile}` first.")
    out = Path(out) if out is not None else paths.REPO_ROOT / "site"
    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab")
    commit = git_commit()
    items = []
    for book in books:
        try:
            nb = json.loads(book.read_text())
            body, _ = exporter.from_filename(str(book))
        except Exception as err:  # noqa: BLE001 - not JSON, or not a notebook nbconvert can read
            raise ValueError(f"{book} is not a valid executed notebook ({type(err).__name__}: "
                             f"{str(err).splitlines()[0][:120]}): run it again (`make reproduce PROFILE={profile}`) "
                             f"or delete it.") from None
        body = _NOTEBOOK_LINK.sub(lambda m: f'href="{m.group(1)}.html{m.group(2) or ""}"', body)
        (out / f"{book.stem}.html").write_text(body)
        ran = time.strftime("%Y-%m-%d %H:%M", time.localtime(book.stat().st_mtime))
        title = html.escape(_title(nb, book.stem))
        href = html.escape(urllib.parse.quote(f"{book.stem}.html"))
        items.append(f'<li><a href="{href}">{title}</a> <small>ran {ran}, profile <code>{html.escape(profile)}</code>, '
                     f'commit <code>{html.escape(commit)}</code></small></li>')
    index = out / "index.html"
    index.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>CausalIB notebooks: executed run</title></head>"
        f"<body><h1>CausalIB notebooks: the executed <code>{html.escape(profile)}</code> run</h1>"
        f"<p>{len(books)} notebooks from <code>{html.escape(str(source))}</code>, rendered "
        f"{time.strftime('%Y-%m-%d %H:%M')}.</p><ul>{''.join(items)}</ul></body></html>\n")
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cibtools.site", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--runs", type=Path, default=None, help="folder of executed notebooks (default runs/<profile>/)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default site/)")
    args = parser.parse_args(argv)
    try:
        index = build(args.profile, args.runs, args.out)
    except (FileNotFoundError, ValueError) as err:
        print(err, file=sys.stderr)
        return 1
    print(f"Open {index} in a browser.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
