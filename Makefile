# Two commands do everything on a fresh machine (each creates the environment first if missing):
#   make reproduce   # the reproduction: every notebook at PROFILE (default quick), outputs in runs/
#   make test        # unit tests + every notebook under nbval at the smoke profile
#   (CI also runs `make test-browser`: the notebooks' widgets in JupyterLab in headless Chromium)
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= quick
# PROFILE reaches Python through the environment too (never pasted into a shell line); the runner and the site
# refuse an unknown one with the valid names.
override PROFILE := $(value PROFILE)
export PROFILE

.PHONY: env reproduce test test-browser site student set-repository benchmark lab clean-runs

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (cibtools)"
	touch $@

env: $(VENV)/.installed

reproduce: env
	$(PY) -c 'import os, sys, runpy; sys.argv = ["cibtools.runner", "--profile", os.environ["PROFILE"]]; runpy.run_module("cibtools.runner", run_name="__main__")'

test: env
	CIB_PROFILE=smoke $(PY) -m pytest -q -p no:cacheprovider tests --ignore=tests/browser --nbval-lax notebooks

# 00's diagram and the widgets of 01, 02 and 08 in JupyterLab, driven in headless Chromium (Debian's package; Playwright's own
# browser download needs the internet). The widget notebooks run again on a kernel with ipywidgets 7 (Colab's) in the
# classic notebook; its packages go to $(VENV)/ipywidgets7 on the first run (pip, --no-deps: the venv stays as it is).
# Fails, never skips, when no browser or those packages can be installed.
test-browser: env
	@command -v chromium >/dev/null || apt-get install -y -q chromium >/dev/null 2>&1 || \
	  (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1) || \
	  { echo "test-browser: no chromium and 'apt-get install -y chromium' failed: the browser test cannot run." >&2; exit 1; }
	$(PY) -c "import playwright" 2>/dev/null || $(PY) -m pip install -q -e ".[browser]"
	$(PY) -m pytest -q -p no:cacheprovider tests/browser

# The executed notebooks of the last run (runs/$(PROFILE)/) as HTML with an index: site/index.html
site: env
	$(PY) -c 'import os, sys, runpy; sys.argv = ["cibtools.site", "--profile", os.environ["PROFILE"]]; runpy.run_module("cibtools.site", run_name="__main__")'

# The student edition: every notebook as nbgrader releases it (solutions and hidden tests removed, outputs
# cleared, checker cells locked) in student/notebooks/, git-ignored; TEACHING.md says how to hand it out.
student: env
	$(PY) -c "import nbgrader" 2>/dev/null || $(PY) -m pip install -q -e ".[instructor]"
	$(PY) -m cibtools.edition student

# Where the repository is hosted (owner/name on GitHub): rewrites every Colab badge and install cell.
# REPO reaches Python through the environment, as the text typed (never expanded by make, never parsed by a
# shell); without REPO it refuses, and REPO= (empty) removes the address.
ifneq ($(origin REPO),undefined)
override REPO := $(value REPO)
export REPO
endif
set-repository: env
	$(PY) -m cibtools.repository set --from-env REPO

benchmark: env
	$(PY) benchmarks/bench_engine.py

lab: env
	$(VENV)/bin/jupyter lab notebooks/

clean-runs:
	rm -rf runs/
