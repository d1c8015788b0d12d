"""Docs that match the code: every `cibtools.<module>[.<name>]` and every repository path that the README,
notebooks/CONVENTIONS.md, the notebooks' prose or a module docstring names must exist; every module says
its one job in a docstring."""
import ast
import importlib
import re

import nbformat
import pytest

from cibtools import paths

ROOT = paths.REPO_ROOT
MODULES = sorted(p for p in (ROOT / "cibtools").glob("*.py") if p.name != "__main__.py")
DOTTED = re.compile(r"\bcibtools((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
PATH = re.compile(r"\b((?:tests|cibtools|benchmarks|scripts|notebooks|figures|results|data)/[A-Za-z0-9_./-]+"
                  r"\.(?:py|md|ipynb|png|csv|json|txt))\b")


def _texts():
    yield "README.md", (ROOT / "README.md").read_text()
    yield "notebooks/CONVENTIONS.md", (ROOT / "notebooks" / "CONVENTIONS.md").read_text()
    for book in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        nb = nbformat.read(book, as_version=4)
        yield book.name, "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for module in MODULES:
        yield f"cibtools/{module.name}", ast.get_docstring(ast.parse(module.read_text())) or ""


def _resolves(dotted: str) -> bool:
    parts = dotted.strip(".").split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module("cibtools." + ".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    import cibtools
    obj = cibtools
    for name in parts:
        if not hasattr(obj, name):
            return False
        obj = getattr(obj, name)
    return True


@pytest.mark.parametrize("where,text", list(_texts()), ids=lambda v: v if isinstance(v, str) and len(v) < 60 else "")
def test_named_code_and_files_exist(where, text):
    missing = [f"cibtools{d}" for d in DOTTED.findall(text) if not _resolves(d)]
    missing += [p for p in PATH.findall(text) if not (ROOT / p).exists() and not (ROOT / "notebooks" / p).exists()]
    assert not missing, f"{where} names what does not exist: {sorted(set(missing))}"


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_every_module_states_its_job(module):
    doc = ast.get_docstring(ast.parse(module.read_text()))
    assert doc and len(doc.split()) >= 5, f"cibtools/{module.name} needs a docstring that says its one job"
