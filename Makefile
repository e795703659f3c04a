# lifileucel-eap: the two commands are `make reports` and `make test`.
# Both create .venv from the pinned, hashed lock when needed.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JOBS ?= 2
# Deterministic outputs: fixed hash seed, UTC, no progress bars in logs.
export PYTHONHASHSEED := 0
export TZ := UTC
export JUPYTER_PREFER_ENV_PATH := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help venv test unit notebooks lab reports golden bench lock clean

help:
	@echo "make reports   build every report from the demo data's weekly extracts into reports/"
	@echo "make test      run the whole test suite (unit, property, notebooks, end-to-end)"
	@echo "make lab       JupyterLab on notebooks/"
	@echo "make golden    regenerate the golden notebooks under tests/golden/ on purpose"
	@echo "make bench     run the scale benchmark (not part of make test; SCALE=10000000 adds the bucketed 10M run)"
	@echo "make lock      re-pin requirements.lock and environment.yml from requirements.in"

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing pinned requirements into $(VENV) (log: $(VENV)/install.log)"
	@$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock > $(VENV)/install.log 2>&1 \
		|| { tail -20 $(VENV)/install.log; exit 1; }
	@$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e . >> $(VENV)/install.log 2>&1 \
		|| { tail -20 $(VENV)/install.log; exit 1; }
	@$(BIN)/python -m ipykernel install --sys-prefix --name python3 >> $(VENV)/install.log 2>&1
	@touch $(STAMP)

# make test = three pytest runs; every run happens, the first failure decides the status.
#  1. the unit/property/end-to-end suite (builds the 15 reports once on the fixture cohort, the first
#     worker to need them, and opens them in headless Chromium), spread over TEST_WORKERS pytest-xdist
#     workers (default: one per CPU this process may use, as nproc counts them, at most 4; xdist's own
#     "auto" counts the host's cores even where fewer are usable), a
#     test file per worker at a time (--dist loadfile: a module's shared fixtures are built once);
#     TEST_WORKERS=0 runs it in one process;
#  2. the golden notebooks under tests/golden/, re-run and compared output by output (nbval);
#  3. the notebook templates, smoke-run on their defaults (demo cohort) in lax mode.
# pytest exit status 5 = "no tests collected" is not a failure.
NBVAL_CELL_TIMEOUT ?= 300
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); if [ "$$n" -gt 4 ]; then n=4; fi; echo $$n)
PYTEST := $(BIN)/python -m pytest
NBVAL := --nbval-current-env --nbval-cell-timeout $(NBVAL_CELL_TIMEOUT)
test: $(STAMP)
	@rc=0; \
	for run in "-n $(TEST_WORKERS) --dist loadfile tests" \
	           "--nbval $(NBVAL) --nbval-sanitize-with tests/golden/sanitize.cfg tests/golden" \
	           "--nbval-lax $(NBVAL) notebooks"; do \
		echo "== pytest $$run"; \
		$(PYTEST) $$run; r=$$?; \
		if [ $$r -eq 5 ]; then echo "pytest collected no tests"; r=0; fi; \
		if [ $$rc -eq 0 ]; then rc=$$r; fi; \
	done; \
	exit $$rc

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks

# The demo cohort's weekly extracts (the bundled demo's size and seed, DEMO_N and DEMO_SEED of
# lifileucel_analysis/synth/cohorts.py; a test keeps them in step): week-01/ ... with cuts.csv and
# planted_changes.csv. Rewritten from scratch each time (about 1 s), byte for byte the same.
DEMO_WEEKS_DIR := build/demo-weeks
DEMO_PATIENTS := 400
DEMO_SEED := 20220601
DEMO_WEEKS := 4
.PHONY: demo-weeks
demo-weeks: $(STAMP)
	@rm -rf $(DEMO_WEEKS_DIR)
	@$(BIN)/lifileucel-eap synth --patients $(DEMO_PATIENTS) --seed $(DEMO_SEED) --weeks $(DEMO_WEEKS) \
		--out $(DEMO_WEEKS_DIR) > /dev/null

# Builds from the demo's weekly extracts: every week is recorded into reports/history.duckdb at its cut
# date (kept across rebuilds; recording the same week again changes nothing), the reports show the last
# week and what changed since the week before (docs/history.md). Prints the path of reports/index.html.
reports: demo-weeks
	@$(BIN)/lifileucel-eap reports --weekly $(DEMO_WEEKS_DIR) --out reports --jobs $(JOBS) \
		--history reports/history.duckdb

# A developer tool, not a user command: it writes into tests/golden/ (see tools/golden.py).
golden: $(STAMP)
	@$(BIN)/python tools/golden.py

bench: $(STAMP)
	@$(BIN)/python benchmarks/screen_scale.py $(if $(SCALE),--bucketed-sizes $(SCALE)) $(if $(BUCKETS),--buckets $(BUCKETS))

# The README's three figures (docs/img/*.png), rendered from what make reports shows (the demo's last
# weekly extract at its cut date); see tools/readme_figures.py.
.PHONY: readme-figures
readme-figures: demo-weeks
	$(BIN)/python tools/readme_figures.py --weekly $(DEMO_WEEKS_DIR)

lock:
	$(PYTHON) -m venv /tmp/lifileucel-lock && /tmp/lifileucel-lock/bin/pip install --quiet pip-tools
	/tmp/lifileucel-lock/bin/pip-compile --generate-hashes --strip-extras --no-header --allow-unsafe --quiet -o requirements.lock requirements.in && sed -i "/^--/d" requirements.lock
	$(PYTHON) tools/lock_to_environment.py

clean:
	rm -rf $(VENV) reports/*.html reports/*/ .pytest_cache .hypothesis
