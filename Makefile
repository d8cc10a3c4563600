# make demo  : set everything up (first time) and run notebook 02 offline end to end
# make test  : set everything up (first time) and run the test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.hwlib-installed
# torch/torchvision are pinned here (they install from local disk on the course machines); pyproject allows >=2.4.
TORCH_PINS := torch==2.14.1 torchvision==0.29.1

.PHONY: install demo test notebooks grade-demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_PINS)
	$(PY) -m pip install --quiet -e ".[instructor,test]"
	touch $(STAMP)

demo: install
	HWLIB_SOURCE=offline $(PY) -m hwlib.demo

test: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" HWLIB_NO_NETWORK=1 HWLIB_SOURCE=offline $(PY) -m pytest -n 2 -q

# Regenerate the student notebooks in notebooks/ from the solution notebooks in solutions/.
notebooks: install
	cd autograder && for a in $$(ls ../solutions); do \
	  PATH="$(CURDIR)/$(VENV)/bin:$$PATH" nbgrader generate_assignment "$$a" --force || exit 1; done

grade-demo: install
	$(PY) -m autograder demo

bench: install
	$(PY) benchmarks/bench_saliency.py
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/bench_grading.py

clean:
	rm -rf outputs .pytest_cache
