"""autograder.make_examples: the committed example submissions are what the generator makes from the solution."""
from autograder.assignments import examples_dir
from autograder.make_examples import fill, generate


def test_committed_examples_are_in_sync_with_the_solution(assignment):
    """If this fails: python -m autograder.make_examples, then commit autograder/examples/."""
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
