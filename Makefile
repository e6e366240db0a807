# The two commands of the README: `make demo` and `make test`. Each creates the virtual
# environment when it is missing and installs what it needs; nothing else is required.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test browser check bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The demo runs `hotstart fix` (libcst) and draws progress (rich): the tools extra; the
# example's batch on Dask and Ray: those extras. It verifies its fix with the example's own
# tests, so it installs their extra (pytest).
# The dev extra includes the tools extra.
$(VENV)/.installed-demo: pyproject.toml examples/jobrunner/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[tools,dask,ray]' -e 'examples/jobrunner[test]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml examples/jobrunner/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e 'examples/jobrunner[test]'
	touch $@

# Profile the example worker's light `interface` request: the heavy library it drags in,
# the chain that pulls it in, and the call that burns time at import; then the modules a
# job spec needs preloaded, read from the spec and the plugins' source; the lazy trial's
# bound; and a fix of a copy (joint plans, hot-call and CLI codemods) measured against it.
demo: $(VENV)/.installed-demo
	@# Users normally have .pyc files; this machine may not write them (PYTHONDONTWRITEBYTECODE).
	$(BIN)/python -m compileall -q src examples/jobrunner/src
	@mkdir -p build
	$(BIN)/hotstart profile --threshold 5 --depth 6 -o build/demo-interface.json -m jobrunner interface
	$(BIN)/hotstart show build/demo-interface.json --why pandas
	@# The job's spec says which plugins it needs: the preload list for a warm worker.
	$(BIN)/hotstart preload examples/jobrunner/jobs/clean.json --package jobrunner
	@# The same list preloaded once in a warm pool's template; jobs run on forked workers.
	cd examples/jobrunner/jobs && ../../../$(BIN)/jobrunner batch clean.json --repeat 3 --workers 2
	@# Beyond one machine: the same jobs, unchanged, on a Dask LocalCluster and on a local Ray;
	@# the same preload list reaches every worker (hotstart's worker plugin, Ray's setup hook).
	cd examples/jobrunner/jobs && ../../../$(BIN)/jobrunner batch clean.json --repeat 2 --workers 2 --backend dask
	cd examples/jobrunner/jobs && ../../../$(BIN)/jobrunner batch clean.json --repeat 2 --workers 2 --backend ray
	@# Audit the example's imports against the measured `interface` request: each site's class
	@# and saving, the chain to pandas, the inspect.stack() hot spot.
	$(BIN)/hotstart audit examples/jobrunner --entry "-m jobrunner interface" --hide-needed -q
	@# The same profile and audit as a picture: one self-contained HTML page to open in a browser.
	$(BIN)/hotstart audit examples/jobrunner --profile build/demo-interface.json --format json -q \
		-o build/demo-audit.json
	$(BIN)/hotstart report build/demo-interface.json --audit build/demo-audit.json \
		--title "jobrunner interface" -o build/demo-report.html
	@# The lazy trial: run `interface` with every import lazy; what it never used is what a
	@# perfect cut of this path defers, and its start-up then is the bound a fix can reach.
	$(BIN)/hotstart trial -q -n 3 --top 5 -o build/demo-trial.json -m jobrunner interface
	@# Fix a copy, verified by the example's own tests: imports planned jointly (by what leaves
	@# the path together), the logger's inspect.stack() rewritten (hot-calls), the eagerly
	@# registered subcommands made lazy (cli); then re-profiled, and compared with the bound.
	rm -rf build/jobrunner-fixed && mkdir -p build/jobrunner-fixed
	cp -r examples/jobrunner/src examples/jobrunner/tests examples/jobrunner/jobs examples/jobrunner/pyproject.toml build/jobrunner-fixed/
	cd build/jobrunner-fixed && PYTHONPATH=src ../../$(BIN)/hotstart fix . -q --write --trial \
		--entry "-m jobrunner interface" --verify "PYTHONPATH=src ../../$(BIN)/python -m pytest -q -p no:cacheprovider tests"
	$(BIN)/python -m compileall -q build/jobrunner-fixed/src
	PYTHONPATH=build/jobrunner-fixed/src $(BIN)/hotstart profile -q --no-calls --format table --top 5 \
		-o build/demo-interface-fixed.json -m jobrunner interface
	$(BIN)/hotstart diff build/demo-interface.json build/demo-interface-fixed.json --top 8
	@# Guard it in CI: forbid pandas on `interface` (examples/jobrunner/guard.toml). The example
	@# as published fails, naming the chain that loads pandas; the fixed copy passes.
	rm -rf build/jobrunner-guard && mkdir -p build/jobrunner-guard
	cp -r examples/jobrunner/src examples/jobrunner/pyproject.toml build/jobrunner-guard/
	cp examples/jobrunner/guard.toml build/jobrunner-guard/hotstart.toml
	cd build/jobrunner-guard && ../../$(BIN)/hotstart check; test $$? -eq 1
	cp examples/jobrunner/guard.toml build/jobrunner-fixed/hotstart.toml
	cd build/jobrunner-fixed && ../../$(BIN)/hotstart check
	@# The requests are subcommands in their own modules (jobrunner/commands/), registered
	@# eagerly: `--help` imported each one, and pandas through compute. The fix made that
	@# registration lazy (every help byte for byte the same); `--help` before and after:
	diff -u examples/jobrunner/src/jobrunner/cli.py build/jobrunner-fixed/src/jobrunner/cli.py || true
	$(BIN)/hotstart profile -q --no-calls --format table --top 3 -o build/demo-help.json -m jobrunner --help
	PYTHONPATH=build/jobrunner-fixed/src $(BIN)/hotstart profile -q --no-calls --format table --top 3 \
		-o build/demo-help-fixed.json -m jobrunner --help
	$(BIN)/hotstart diff build/demo-help.json build/demo-help-fixed.json --top 5
	@# Before and after the fix, side by side in the report's diff view.
	$(BIN)/hotstart report build/demo-interface.json build/demo-interface-fixed.json \
		--title "jobrunner interface: before and after hotstart fix" -o build/demo-diff.html
	@echo "Open the reports in a browser: file://$(CURDIR)/build/demo-report.html and" \
		"file://$(CURDIR)/build/demo-diff.html"

test: $(VENV)/.installed-dev browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The HTML report's tests open it in Debian's Chromium (driven by playwright, which is told
# not to download a browser of its own). Installed here where missing and possible (root with
# apt-get); elsewhere those tests skip and say what is missing. The speedscope, trace and
# folded outputs are opened in speedscope's own app, from its npm package (MIT), pinned.
SPEEDSCOPE := speedscope@1.25.0
browser: | $(BIN)/python
	@test -f $(VENV)/speedscope/index.html || { command -v npm >/dev/null 2>&1 \
		&& tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent $(SPEEDSCOPE) >/dev/null 2>&1) \
		&& mkdir -p $(VENV)/speedscope && tar xzf $$tmp/speedscope-*.tgz -C $(VENV)/speedscope \
		     --strip-components=3 package/dist/release; rm -rf $$tmp; \
		test -f $(VENV)/speedscope/index.html; } \
		|| echo "make: $(SPEEDSCOPE) could not be fetched with npm: the tests that open outputs in speedscope will skip"
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& { apt-get install -y -q chromium >/dev/null 2>&1 \
		     || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; }; } \
		|| echo "make: chromium could not be installed here: the HTML report's browser tests will skip"; }

# hotstart guards its own start-up ([tool.hotstart] in pyproject.toml, hotstart.lock):
# `hotstart --help` and the runtime imports, and the example's module set.
check: $(VENV)/.installed-dev
	$(BIN)/python -m compileall -q src examples/jobrunner/src
	$(BIN)/hotstart check

$(VENV)/.installed-bench: $(VENV)/.installed-dev
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/python -m compileall -q src
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .venv-* build .pytest_cache
