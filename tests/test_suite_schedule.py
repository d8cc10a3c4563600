"""The suite's own schedule (tests/conftest.py): the modules it names exist, one notebook's tests of the per-notebook
modules form one group, and the order puts the long groups first and the waiting ones last. A renamed module
would otherwise silently fall back to the middle of the queue, and `make test` would grow by minutes."""
import importlib.util
from pathlib import Path

from autograder.assignments import CHECK_MODULES

ROOT = Path(__file__).resolve().parent.parent
# tests/conftest.py by its path: several conftest modules exist, and `import conftest` gets whichever came first
_spec = importlib.util.spec_from_file_location("suite_schedule_conftest", ROOT / "tests" / "conftest.py")
conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(conftest)


def test_every_module_the_schedule_names_exists():
    for module in {*conftest.PER_NOTEBOOK, *conftest.FIRST, *conftest.LAST}:
        assert (ROOT / module).is_file(), f"{module} is named by the suite's schedule but does not exist"


def test_one_notebooks_tests_form_one_group_and_other_modules_one_each():
    notebook = list(CHECK_MODULES)[-1]
    module = conftest.PER_NOTEBOOK[0]
    assert conftest.suite_group(f"{module}::test_x[{notebook}]") == f"{module}[{notebook}]"
    assert conftest.suite_group(f"{module}::test_x[{notebook}-some_attack]") == f"{module}[{notebook}]"
    assert conftest.suite_group(f"{module}::test_y") == module            # no notebook: the module's group
    other = "tests/test_registry.py"
    assert other not in conftest.PER_NOTEBOOK
    assert conftest.suite_group(f"{other}::test_z[{notebook}]") == other


def test_the_collection_puts_the_long_groups_first_and_the_waiting_ones_last():
    class Item:
        def __init__(self, nodeid):
            self.nodeid = nodeid

    notebooks = list(CHECK_MODULES)
    ids = ["tests/test_registry.py::test_a", *(f"{m}::test_b[{n}]" for m in conftest.PER_NOTEBOOK for n in notebooks),
           *(f"{m}::test_c" for m in (*conftest.LAST, *conftest.FIRST)), "tests/test_digits.py::test_d"]
    items = [Item(i) for i in reversed(ids)]
    conftest.pytest_collection_modifyitems(None, items)
    modules = list(dict.fromkeys(item.nodeid.split("::")[0] for item in items))
    assert modules[:len(conftest.FIRST)] == list(conftest.FIRST)
    assert modules[-len(conftest.LAST):] == list(conftest.LAST)
    groups = [conftest.suite_group(item.nodeid) for item in items]
    runs = [g for i, g in enumerate(groups) if i == 0 or groups[i - 1] != g]
    assert len(runs) == len(set(runs)), f"a group's tests are not together: {runs}"
    first = [g for g in dict.fromkeys(groups) if g.startswith(conftest.FIRST[0] + "[")]
    assert first == [f"{conftest.FIRST[0]}[{n}]" for n in notebooks]
