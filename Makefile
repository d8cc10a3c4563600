# make demo  : set everything up (first time), grade representative example submissions of every registered
#              notebook and run each notebook offline end to end in quick mode, in minutes
#              (make demo ONLY=<assignment id> for one; make demo FULL=1 for full-size notebooks and every example;
#              `python -m autograder list` lists them)
# make test  : set everything up (first time), lint (ruff check, seconds) and run the test suite
# make release: write the student course into release/ (what students get; no answers)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.hwlib-installed
# torch/torchvision are pinned here (they install from local disk on the course machines); pyproject allows >=2.4.
TORCH_PINS := torch==2.14.1 torchvision==0.29.1

.PHONY: install demo test notebooks grade-demo release bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_PINS)
	$(PY) -m pip install --quiet -e ".[instructor,test]"
	touch $(STAMP)

ONLY ?=
FULL ?=
demo: install
	HWLIB_SOURCE=offline $(PY) -m autograder demo $(if $(FULL),--full) $(foreach a,$(ONLY),--only $(a))

PYTEST_ARGS ?=
test: install
	$(VENV)/bin/ruff check .
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" HWLIB_NO_NETWORK=1 HWLIB_SOURCE=offline $(PY) -m pytest -n 3 -q --durations=25 $(PYTEST_ARGS)

# Write every solution notebook's first cells (course.cfg) and hidden-test cells (the registry), regenerate the
# student notebooks in notebooks/ from solutions/ (nbgrader, every assignment of the registry), then the example
# submissions (`python -m autograder sync --check` only verifies the solution notebooks).
notebooks: install
	$(PY) -m autograder sync

grade-demo: install
	$(PY) -m autograder demo --no-notebooks $(if $(FULL),--full)

# The student course (notebooks, hwlib, its weights, a student README and pyproject; the wheel in release/dist/):
# what an instructor publishes as the public course repository (course.cfg: release_repository, pip_spec).
RELEASE ?= release
release: install
	rm -rf $(RELEASE)
	$(PY) -m autograder release $(RELEASE) --wheel

# Every benchmark in benchmarks/ (each prints its ratios side by side).
bench: install
	for b in benchmarks/bench_*.py; do echo "== $$b"; PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) $$b || exit 1; done

clean:
	rm -rf outputs release .pytest_cache
