"""tests/fixtures: the committed example submissions are what the generator makes from each solution."""
import pytest

from autograder.assignments import registered
from fixtures import examples_dir
from fixtures.generate import fill, generate


@pytest.mark.parametrize("assignment", registered(), ids=lambda a: a.id)
def test_committed_examples_are_in_sync_with_the_solution(assignment):
    """If this fails: python -m autograder examples, then commit tests/fixtures/examples/."""
    folder = examples_dir(assignment)
    generated = generate(assignment.id)
    assert sorted(generated) == sorted(p.name for p in folder.glob("*.ipynb"))
    for name, text in generated.items():
        assert (folder / name).read_text() == text, name


def test_fill_replaces_only_the_solution_region():
    source = "def f(x):\n    '''doc'''\n    ### BEGIN SOLUTION\n    y = x + 1\n    ### END SOLUTION\n    return y"
    assert fill(source) == "def f(x):\n    '''doc'''\n    y = x + 1\n    return y"
    assert fill(source, "y = 0", prelude="print(1)", after="z = 2") == \
        "def f(x):\n    '''doc'''\n    print(1)\n    y = 0\n    return y\n\n\nz = 2"


def test_fill_replaces_several_regions_in_order_and_refuses_a_mismatch():
    source = ("class A:\n    def f(self):\n        ### BEGIN SOLUTION\n        return 1\n        ### END SOLUTION\n"
              "    def g(self):\n        ### BEGIN SOLUTION\n        return 2\n        ### END SOLUTION\n")
    assert fill(source, ("return 10", "return 20")) == \
        "class A:\n    def f(self):\n        return 10\n    def g(self):\n        return 20"
    with pytest.raises(ValueError, match="region"):
        fill(source, "return 0")
