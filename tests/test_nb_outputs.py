"""The check that keeps return values out of figure cells (`nb_outputs.clutter`, applied by the repository's
conftest.py to every cell `make test` executes) catches what it should and nothing else."""
import importlib.util
from pathlib import Path

from nbformat.v4 import new_output

spec = importlib.util.spec_from_file_location("nb_outputs", Path(__file__).parent / "nb_outputs.py")
nb_outputs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nb_outputs)

FIGURE = new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure size 1100x400 with 2 Axes>"})


def test_a_path_returned_by_a_figure_cell_is_caught():
    out = [new_output("execute_result", data={"text/plain": "PosixPath('/work/runs/smoke/figures/04_x.png')"},
                      execution_count=1), FIGURE]
    assert any("path repr" in p for p in nb_outputs.clutter(out))


def test_an_artist_left_as_the_value_of_a_figure_cell_is_caught():
    for value in ("[<matplotlib.lines.Line2D at 0x7f>]", "<Figure size 640x480 with 1 Axes>", "Text(0.5, 1.0, 'x')"):
        out = [new_output("execute_result", data={"text/plain": value}, execution_count=1), FIGURE]
        assert nb_outputs.clutter(out), value


def test_a_figure_alone_a_table_beside_it_or_printed_text_pass():
    table = new_output("execute_result", data={"text/plain": "   a  b\n0  1  2", "text/html": "<table/>"},
                       execution_count=1)
    printed = new_output("stream", name="stdout", text="3 of 4 checks pass\n")
    assert nb_outputs.clutter([FIGURE]) == []
    assert nb_outputs.clutter([printed, FIGURE, table]) == []
    assert nb_outputs.clutter([new_output("execute_result", data={"text/plain": "[1, 2]"}, execution_count=1)]) == []


def test_a_printed_path_repr_is_caught_anywhere():
    out = [new_output("stream", name="stdout", text="saved PosixPath('/x/y.png')\n")]
    assert nb_outputs.clutter(out)


def test_the_hook_that_applies_it_is_in_place():
    text = (Path(__file__).parents[1] / "conftest.py").read_text()
    assert "nb_outputs.clutter" in text and "test_outputs" in text and "pytest_runtest_call" in text
