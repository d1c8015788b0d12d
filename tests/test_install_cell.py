"""The notebooks' install cell (`cibtools.repository.INSTALL_CELL`) in a fresh venv without cibtools, as on Colab.

The venv sees this environment's packages through a .pth file (so pip finds torch & co. installed and the
test installs nothing large), has ipywidgets 7.7.1 of its own (Colab's version), and cannot import cibtools.
The cell clones a local repository made from this checkout's package files (CIB_CLONE_SOURCE) and must: install
cibtools and nothing else, leave ipywidgets 7 alone, survive an earlier failed run, and run a second time.
"""
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from cibtools import paths, repository

TOOLS = {"pytest", "nbval", "papermill", "coverage", "jupyterlab", "nbgrader", "playwright", "notebook"}
COLAB_WIDGETS = ["ipywidgets==7.7.1", "widgetsnbextension>=3.6,<4", "jupyterlab_widgets>=1.0,<3"]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower()


def test_runtime_dependencies_hold_no_tools_and_accept_colab_widgets():
    project = tomllib.loads((paths.REPO_ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_name(r): r for r in project["dependencies"]}
    assert not TOOLS & set(runtime), f"runtime dependencies name tools: {sorted(TOOLS & set(runtime))}"
    assert runtime["ipywidgets"].replace(" ", "") == "ipywidgets>=7.6", runtime["ipywidgets"]
    test = {_name(r) for r in project["optional-dependencies"]["test"]}
    assert {"pytest", "nbval", "papermill", "jupyterlab", "nbgrader"} <= test  # make env's .[test] still has them


def _run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=600, **kw)


def _own_packages(venv: Path) -> set[str]:
    site = next((venv / "lib").glob("python3*/site-packages"))
    return {re.split(r"-\d", p.name, maxsplit=1)[0].lower().replace("_", "-") for p in site.glob("*.dist-info")}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("colab")
    origin = root / "origin"  # the repository as committed: the package files of this checkout
    origin.mkdir()
    for name in ("pyproject.toml", "README.md"):
        (origin / name).write_bytes((paths.REPO_ROOT / name).read_bytes())
    (origin / "cibtools").mkdir()
    for path in (paths.REPO_ROOT / "cibtools").glob("*.py"):
        (origin / "cibtools" / path.name).write_bytes(path.read_bytes())
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost", "-c", "init.defaultBranch=main"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "snapshot"]):
        assert _run(git + args, cwd=origin).returncode == 0
    venv = root / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)]).returncode == 0
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "outer.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # deps visible, cibtools not
    python = venv / "bin" / "python"
    done = _run([str(python), "-m", "pip", "install", "-q", *COLAB_WIDGETS])
    assert done.returncode == 0, done.stderr[-2000:]
    return root, origin, python, venv


def _cell(python, root, source, target):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIB_", "PYTHON"))}
    env.update(CIB_CLONE_SOURCE=str(source), CIB_CLONE_DIR=str(target))
    return _run([str(python), "-c", repository.INSTALL_CELL.format(repo="")], cwd=root, env=env)


def _version(python, root, module):
    done = _run([str(python), "-c", f"import {module}; print({module}.__version__, {module}.__file__)"], cwd=root)
    return done.stdout.strip() if done.returncode == 0 else None


@pytest.mark.slow  # about 3 minutes on the busy 2-core machine (1 min of CPU): venv, ipywidgets 7, three pip runs
def test_install_cell_installs_cibtools_only_survives_a_failure_and_runs_twice(world):
    import time
    start = time.perf_counter()
    root, origin, python, venv = world
    target = root / "content" / "causalib"
    target.parent.mkdir()
    assert _version(python, root, "cibtools") is None, "the fresh venv must not import cibtools"
    assert _version(python, root, "ipywidgets").startswith("7.7.1")
    before = _own_packages(venv)

    marker = root / "pwned"  # the clone source is an argument of git, never a shell's text nor an option
    for source in (f"--upload-pack=touch {marker}", f"x; touch {marker}", f"$(touch {marker})"):
        done = _cell(python, root, source, root / "elsewhere" / "clone")
        assert done.returncode != 0 and not marker.exists(), source
    failed = _cell(python, root, root / "no-such-repository", target)  # the network drops, say
    assert failed.returncode != 0 and not target.exists()
    (target.parent / "causalib.partial").mkdir()  # and an interrupted clone is left behind
    (target.parent / "causalib.partial" / "junk").write_text("half a clone")

    for attempt in (1, 2):
        done = _cell(python, root, origin, target)
        assert done.returncode == 0, f"run {attempt}: {done.stderr[-3000:]}"
        assert (target / ".git").is_dir() and not (target.parent / "causalib.partial").exists()
    where = _version(python, root, "cibtools")
    assert where and str(target) in where, where
    assert _version(python, root, "ipywidgets").startswith("7.7.1"), "the install cell replaced Colab's ipywidgets"
    added = _own_packages(venv) - before
    assert added == {"cibtools"}, f"the install cell installed more than cibtools: {sorted(added)}"
    print(f"install cell: 3 runs in {time.perf_counter() - start:.0f} s")
