"""Project-level checks: notebooks carry no outputs, environment.yml matches pyproject, the runner fails loudly."""
import json
import os
import re
import tomllib

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_notebook

from cibtools import paths, profiles
from cibtools.runner import NotebookFailed, list_notebooks, run_notebooks

NOTEBOOKS = sorted((paths.REPO_ROOT / "notebooks").glob("*.ipynb"))


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    project = tomllib.loads((paths.REPO_ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r): r.replace(" ", "") for r in project["dependencies"] + project["optional-dependencies"]["test"]}
    env = yaml.safe_load((paths.REPO_ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = {_name(r): r.replace(" ", "") for r in pip_section if not r.startswith("-e")}
    assert listed == wanted


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_in_git_has_no_outputs_and_a_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), f"{path.name} carries outputs"
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "profile" in tagged[0].source


def test_notebooks_are_numbered_in_sequence():
    numbers = [p.name[:2] for p in list_notebooks()]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


def _write(folder, name, sources):
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / name)


def test_runner_stops_at_first_failing_notebook_and_names_it(tmp_path):
    books = tmp_path / "nbs"
    books.mkdir()
    _write(books, "01-ok.ipynb", ['profile = "quick"', "x = 1"])
    _write(books, "02-broken.ipynb", ['profile = "quick"', "y = 2", "raise ValueError('boom here')"])
    _write(books, "04-never.ipynb", ['profile = "quick"', "open('ran.txt', 'w').write(profile)"])
    with pytest.raises(NotebookFailed) as err:
        run_notebooks("smoke", folder=books, out_dir=tmp_path / "out", log=lambda *_: None)
    message = str(err.value)
    assert "02-broken.ipynb" in message and "cell 2" in message and "boom here" in message
    assert (tmp_path / "out" / "01-ok.ipynb").exists() and not (books / "ran.txt").exists()


def test_runner_injects_the_profile(tmp_path):
    books = tmp_path / "nbs"
    books.mkdir()
    _write(books, "01-write.ipynb", ['profile = "quick"', "open('profile.txt', 'w').write(profile)",
                                     "from cibtools.plotting import widgets\n"
                                     "open('widgets.txt', 'w').write(str(widgets()))"])
    timings = run_notebooks("smoke", folder=books, out_dir=tmp_path / "out", log=lambda *_: None)
    assert (books / "profile.txt").read_text() == "smoke" and timings[0]["notebook"] == "01-write.ipynb"
    assert (books / "widgets.txt").read_text() == "None"  # headless: notebooks skip their widgets
    assert "CIB_HEADLESS" not in os.environ  # and the caller's environment is left as it was
    assert json.loads((tmp_path / "out" / "timings.json").read_text())[0]["notebook"] == "01-write.ipynb"


def test_unknown_profile_is_rejected():
    with pytest.raises(ValueError, match="smoke, quick, paper"):
        profiles.settings("fast")
    with pytest.raises(ValueError, match="profile"):
        run_notebooks("fast")


def test_notebook_outputs_never_go_to_committed_folders(monkeypatch):
    monkeypatch.delenv("CIB_FIGURES_DIR", raising=False)
    for profile in ("smoke", "quick", "paper"):
        assert paths.output_dir("figures", profile) == paths.runs_dir() / profile / "figures"


def test_runner_skips_a_notebook_whose_data_is_missing_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("CIB_DATA_DIR", str(tmp_path / "nodata"))
    books = tmp_path / "nbs"
    books.mkdir()
    _write(books, "10-needs-cifar.ipynb", ['profile = "quick"', "open('ran.txt', 'w').write('x')"])
    nb = nbformat.read(books / "10-needs-cifar.ipynb", as_version=4)
    nb.metadata["cibtools"] = {"requires": ["cifar10"]}
    nbformat.write(nb, books / "10-needs-cifar.ipynb")
    lines = []
    timings = run_notebooks("quick", folder=books, out_dir=tmp_path / "out", log=lines.append)
    assert timings[0]["skipped"] == "needs cifar10" and not (books / "ran.txt").exists()
    assert any("SKIPPED 10-needs-cifar.ipynb" in line and "cifar-10-python.tar.gz" in line for line in lines)


def test_partial_runs_merge_their_timings(tmp_path):
    from cibtools.runner import record_timings

    path = tmp_path / "timings.json"
    record_timings(path, [{"notebook": "04-a.ipynb", "seconds": 5.0}, {"notebook": "05-b.ipynb", "seconds": 7.0}])
    merged = record_timings(path, [{"notebook": "05-b.ipynb", "seconds": 2.0}, {"notebook": "01-c.ipynb", "seconds": 1.0}])
    assert [t["notebook"] for t in merged] == ["01-c.ipynb", "04-a.ipynb", "05-b.ipynb"]
    assert [t["seconds"] for t in merged] == [1.0, 5.0, 2.0]


def test_widgets_only_outside_headless_runs(monkeypatch):
    from cibtools.plotting import widgets

    monkeypatch.delenv("CIB_HEADLESS", raising=False)
    assert widgets() is not None and hasattr(widgets(), "interact")  # ipywidgets is a dependency
    monkeypatch.setenv("CIB_HEADLESS", "1")
    assert widgets() is None
