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
import os
import re
import sys
from pathlib import Path

from .paths import REPO_ROOT

PYPROJECT = REPO_ROOT / "pyproject.toml"
README = REPO_ROOT / "README.md"
NOTEBOOKS = REPO_ROOT / "notebooks"
_SETTING = re.compile(r'^repository = "([^"\n]*)"$', re.M)
_ANY_SETTING = re.compile(r"^\s*repository\s*=.*$", re.M)  # also a hand-edited line
_VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*")  # the whole text (fullmatch)
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


def _setting(text: str) -> re.Match:
    """The one `repository = "owner/name"` line of pyproject.toml's text, or a ValueError naming what is wrong."""
    lines = _ANY_SETTING.findall(text)
    good = _SETTING.findall(text)
    if len(lines) != 1 or len(good) != 1:
        found = "; ".join(repr(line) for line in lines) or "none"
        raise ValueError(f'{PYPROJECT} must hold exactly one line `repository = "owner/name"` (or `repository = ""`) '
                         f"under [tool.cibtools], written exactly so; found: {found}. Restore it with "
                         f"`git checkout -- pyproject.toml`.")
    return _SETTING.search(text)


def check_repo(repo) -> str:
    """`repo` itself if it is `owner/name` (GitHub's letters, digits, `_.-`) or "" (none); else a ValueError."""
    if not isinstance(repo, str) or (repo and not _VALID.fullmatch(repo)):
        raise ValueError(f"Repository must look like owner/name (letters, digits, '_', '.', '-'; nothing else, no "
                         f"spaces or line breaks), or be empty to remove it; got {repo!r}.")
    return repo


def configured() -> str:
    """The `owner/name` set in pyproject.toml, or "" when none is set yet."""
    return check_repo(_setting(PYPROJECT.read_text()).group(1))


def _read_notebook(path: Path):
    """A notebook, or a ValueError naming the file when it is not a valid notebook."""
    import nbformat

    try:
        return nbformat.read(path, as_version=4)
    except Exception as err:  # noqa: BLE001 - not JSON, not a notebook: the same advice
        raise ValueError(f"{path} is not a valid notebook ({type(err).__name__}: {str(err).splitlines()[0][:120]}): "
                         f"restore it with `git checkout -- {path}`.") from None


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


def _rewritten_notebook(path: Path, repo: str) -> str | None:
    """The text of one notebook with its badge line and install cell for `repo` (None: unchanged); a ValueError
    naming it when it is not a notebook or lacks its one badge line or install cell."""
    import nbformat

    nb = _read_notebook(path)
    badges = [line for c in nb.cells if c.cell_type == "markdown" for line in c.source.split("\n")
              if line.startswith(BADGE_MARK)]
    installs = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(INSTALL_MARK)]
    if len(badges) != 1 or len(installs) != 1:
        raise ValueError(f"{path} has {len(badges)} badge line(s) and {len(installs)} install cell(s), not one of "
                         f"each: restore it with `git checkout -- {path}`.")
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
    if not changed:
        return None
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"  # as nbformat.write writes it


def problems(repo: str | None = None) -> list[str]:
    """Every place that disagrees with the configured address (empty when all agree)."""
    import nbformat

    repo = configured() if repo is None else repo
    found = []
    for path in _notebooks():
        try:
            nb = _read_notebook(path)
        except ValueError as err:
            found.append(str(err))
            continue
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
    """Write `repo` to pyproject.toml and rewrite the notebooks and README; the files changed. Everything is
    checked first (the address, pyproject's one setting line, the README's markers, every notebook), then
    each changed file is written under a temporary name and renamed; a file that would not change is not
    touched (an unchanged pyproject.toml does not trigger a reinstall)."""
    check_repo(repo)
    text = PYPROJECT.read_text()
    setting = _setting(text)
    new_files: dict[Path, str] = {}
    if setting.group(1) != repo:
        new_files[PYPROJECT] = text[:setting.start()] + f'repository = "{repo}"' + text[setting.end():]
    for path in _notebooks():
        new = _rewritten_notebook(path, repo)
        if new is not None:
            new_files[path] = new
    readme = README.read_text()
    start, end = readme.find(README_START), readme.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"{README} lacks the {README_START} ... {README_END} markers of its Colab section (in that "
                         f"order): restore them with `git checkout -- README.md`. Nothing was written.")
    new = readme[:start] + readme_section(repo) + readme[end + len(README_END):]
    if new != readme:
        new_files[README] = new
    temporary = {path: path.with_name(f".{path.name}.{os.getpid()}.tmp") for path in new_files}
    try:
        for path, content in new_files.items():
            temporary[path].write_text(content)
        for path in new_files:
            temporary[path].replace(path)
    finally:
        for tmp in temporary.values():
            tmp.unlink(missing_ok=True)
    return [p.name for p in new_files]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cibtools.repository", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    setter = sub.add_parser("set", help="set owner/name and rewrite every badge and install cell")
    setter.add_argument("repo", nargs="?", help='owner/name on GitHub ("" to unset)')
    setter.add_argument("--from-env", metavar="VAR", help="read the address from environment variable VAR (as "
                                                          "`make set-repository REPO=owner/name` does)")
    sub.add_parser("check", help="list the places that disagree with the configured address")
    args = parser.parse_args(argv)
    try:
        if args.command == "set":
            repo = _address(args.repo, args.from_env)
            changed = set_repository(repo)
            print(f"repository = {repo!r}; rewrote {', '.join(changed) or 'nothing (already up to date)'}")
            return 0
        found = problems()
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    print("\n".join(found) if found else f"All notebooks and the README agree with repository = {configured()!r}.")
    return 1 if found else 0


def _address(repo: str | None, variable: str | None) -> str:
    """The address given on the command line, or read from the environment variable `variable`."""
    if (repo is None) == (variable is None):
        raise ValueError("Give the address (`set owner/name`, `set \"\"` to remove it) or --from-env VAR, not both.")
    if variable is None:
        return repo
    if variable not in os.environ:
        raise ValueError(f"{variable} is not set: run `make set-repository {variable}=owner/name` (`{variable}=` with "
                         f"nothing after it removes the address). Nothing was changed.")
    return os.environ[variable]


if __name__ == "__main__":
    sys.exit(main())
