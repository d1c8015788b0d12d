"""Checks on every notebook cell that `make test` executes under nbval: a cell shows no path repr, and no return
value beside a figure (`tests/nb_outputs.py`). nbval (`--nbval-lax`) does not compare outputs; this does."""
import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("nb_outputs", Path(__file__).parent / "tests" / "nb_outputs.py")
nb_outputs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nb_outputs)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    outputs = getattr(item, "test_outputs", None)  # nbval's executed outputs of this cell
    if outputs is not None:
        problems = nb_outputs.clutter(outputs)
        if problems:
            raise AssertionError(f"{item.name} shows what a reader should not see:\n  " + "\n  ".join(problems)
                                 + "\nEnd the cell with a call that returns None (e.g. save_figure), or assign the value.")
    return result
