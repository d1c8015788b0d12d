"""Where this repository is hosted: the one setting behind every Colab badge and install cell.

The address lives in `pyproject.toml` (`[tool.cibtools] repository = "owner/name"`, empty until set).
`make set-repository REPO=owner/name` (i.e. `python -m cibtools.repository set owner/name`) writes it
there and rewrites every notebook's badge line and install cell and the README's Colab section from
it; `python -m cibtools.repository check` (and a test) fails when any of them disagrees. Until an
address is set, the badges and the README say so plainly instead of linking to a page that does
not exist, and the install cell explains what to do.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .paths import REPO_ROOT

PYPROJECT = REPO_ROOT / "pyproject.toml"
README = REPO_ROOT / "README.md"
NOTEBOOKS = REPO_ROOT / "notebooks"
_SETTING = re.compile(r'^repository = "([^"]*)"$', re.M)
_VALID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
INSTALL_MARK = "# Colab (or any machine without cibtools)"
BADGE_MARK = ("[![Open In Colab]", "*Open in Colab:")
README_START, README_END = "<!-- colab:start -->", "<!-- colab:end -->"

# The install cell, the same in every notebook. On a machine without cibtools (Colab) it clones the repository
# and pip-installs it with its runtime dependencies only (pyproject's `dependencies`, no extras); their ranges
# let Colab's preinstalled torch and ipywidgets stand. Running it again after a failure is safe: an unfinished
# clone (`<target>.partial`) is removed, a finished one reused. CIB_CLONE_SOURCE (another clone address or a
# local path) and CIB_CLONE_DIR (where to clone) exist for tests and mirrors; they reach git as arguments of
# an argument list (after `--`), never a shell.
INSTALL_CELL = '''# Colab (or any machine without cibtools): clone the repository and install it; a no-op when cibtools imports.
REPOSITORY = "{repo}"  # owner/name on GitHub, written by `make set-repository REPO=owner/name`
try:
    import cibtools
except ImportError:  # safe to run again after a failure: an unfinished clone is removed, a finished one reused
    import os, shutil, subprocess, sys
    source = os.environ.get("CIB_CLONE_SOURCE") or (REPOSITORY and f"https://github.com/{{REPOSITORY}}")
    if not source:
        raise RuntimeError("cibtools is not installed and this copy names no repository: in a clone, run "
                           "`make set-repository REPO=owner/name` (README, 'Colab'), or `pip install -e .`.")
    target = os.environ.get("CIB_CLONE_DIR", "/content/causalib")
    if not os.path.isdir(os.path.join(target, ".git")):
        shutil.rmtree(target + ".partial", ignore_errors=True)
        subprocess.run(["git", "clone", "-q", "--depth", "1", "--", source, target + ".partial"], check=True)
        os.rename(target + ".partial", target)
    # the lessons' own dependencies only: Colab's torch and ipywidgets already satisfy them and stay as they are
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", target], check=True)
    sys.path.insert(0, target)  # data/ (MNIST, FashionMNIST) comes with the clone
    import cibtools'''


def configured() -> str:
    """The `owner/name` set in pyproject.toml, or "" when none is set yet."""
    match = _SETTING.search(PYPROJECT.read_text())
    if match is None:
        raise ValueError(f'{PYPROJECT} lacks `repository = "..."` under [tool.cibtools]; restore it from git.')
    return match.group(1)


def badge(notebook: str, repo: str) -> str:
    """The line under each notebook's title: a Colab badge, or a plain note while no address is set."""
    if not repo:
        return ("*Open in Colab: this copy names no repository yet; run `make set-repository REPO=owner/name` "
                "first (README, \"Colab\").*")
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{repo}/blob/main/notebooks/{notebook})")


def readme_section(repo: str) -> str:
    if not repo:
        return (f"{README_START}\nThis copy names no repository yet, so the notebooks carry no working Colab link. "
                f"Where it is hosted on GitHub, run `make set-repository REPO=owner/name` once and commit: every "
                f"badge and install cell then points there.\n{README_END}")
    return (f"{README_START}\nRepository: [`{repo}`](https://github.com/{repo}). Each notebook's badge opens it on "
            f"Colab; the install cell clones `{repo}` and installs `cibtools` (data included).\n{README_END}")


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))


def _rewrite_notebook(path: Path, repo: str) -> bool:
    """Badge line and install cell of one notebook rewritten for `repo`; True when the file changed."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    changed = False
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            lines = cell.source.split("\n")
            new = [badge(path.name, repo) if line.startswith(BADGE_MARK) else line for line in lines]
            if new != lines:
                cell.source, changed = "\n".join(new), True
        elif cell.cell_type == "code" and cell.source.startswith(INSTALL_MARK):
            text = INSTALL_CELL.format(repo=repo)
            if cell.source != text:
                cell.source, changed = text, True
    if changed:
        nbformat.write(nb, path)
    return changed


def problems(repo: str | None = None) -> list[str]:
    """Every place that disagrees with the configured address (empty when all agree)."""
    import nbformat

    repo = configured() if repo is None else repo
    found = []
    for path in _notebooks():
        nb = nbformat.read(path, as_version=4)
        badges = [line for c in nb.cells if c.cell_type == "markdown" for line in c.source.split("\n")
                  if line.startswith(BADGE_MARK)]
        installs = [c.source for c in nb.cells if c.cell_type == "code" and c.source.startswith(INSTALL_MARK)]
        if badges != [badge(path.name, repo)]:
            found.append(f"{path.name}: badge line {badges!r}")
        if installs != [INSTALL_CELL.format(repo=repo)]:
            found.append(f"{path.name}: install cell missing or different")
        if "OWNER/" in path.read_text():
            found.append(f"{path.name}: placeholder OWNER/ left")
    text = README.read_text()
    if readme_section(repo) not in text:
        found.append("README.md: Colab section missing or different")
    if "OWNER/" in text:
        found.append("README.md: placeholder OWNER/ left")
    return found


def set_repository(repo: str) -> list[str]:
    """Write `repo` to pyproject.toml and rewrite the notebooks and README; the files changed."""
    if repo and not _VALID.match(repo):
        raise ValueError(f"Repository must look like owner/name (GitHub), got {repo!r}.")
    PYPROJECT.write_text(_SETTING.sub(f'repository = "{repo}"', PYPROJECT.read_text(), count=1))
    changed = [p.name for p in _notebooks() if _rewrite_notebook(p, repo)]
    text = README.read_text()
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < 0:
        raise ValueError(f"README.md lacks the {README_START} ... {README_END} markers of its Colab section.")
    new = text[:start] + readme_section(repo) + text[end + len(README_END):]
    if new != text:
        README.write_text(new)
        changed.append("README.md")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cibtools.repository", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    setter = sub.add_parser("set", help="set owner/name and rewrite every badge and install cell")
    setter.add_argument("repo", help='owner/name on GitHub ("" to unset)')
    sub.add_parser("check", help="list the places that disagree with the configured address")
    args = parser.parse_args(argv)
    if args.command == "set":
        try:
            changed = set_repository(args.repo)
        except ValueError as err:
            print(err, file=sys.stderr)
            return 2
        print(f"repository = {args.repo!r}; rewrote {', '.join(changed) or 'nothing (already up to date)'}")
        return 0
    found = problems()
    print("\n".join(found) if found else f"All notebooks and the README agree with repository = {configured()!r}.")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
