# Two commands do everything on a fresh machine (each creates the environment first if missing):
#   make reproduce   # the reproduction: every notebook at PROFILE (default quick), outputs in runs/
#   make test        # unit tests + every notebook under nbval at the smoke profile
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= quick

.PHONY: env reproduce test benchmark lab clean-runs

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (cibtools)"
	touch $@

env: $(VENV)/.installed

reproduce: env
	$(PY) -m cibtools.runner --profile $(PROFILE)

test: env
	CIB_PROFILE=smoke $(PY) -m pytest -q -p no:cacheprovider tests --nbval-lax notebooks

benchmark: env
	$(PY) benchmarks/bench_engine.py

lab: env
	$(VENV)/bin/jupyter lab notebooks/

clean-runs:
	rm -rf runs/
