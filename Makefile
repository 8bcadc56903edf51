# Every target creates .venv when it is missing and installs the package into it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test bench lint clean

$(PY):
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "asyncnni needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[nas,ray,test]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/asyncnni run trials/quickstart/exp.yaml

# the dashboard's browser tests need Debian's chromium; as root it is installed here
# (playwright drives it; `playwright install` downloads a browser and is never run)
test: install
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium could not be installed: the browser tests will be skipped"; fi
	$(PY) -m pytest -q

# the three benchmarks at moderate sizes (a few minutes on 2 cores); JSON lines on stdout,
# tables on stderr; benchmarks/README.md explains the figures
bench: install
	$(PY) benchmarks/e2e_trials.py --trials 20 --concurrency 4
	$(PY) benchmarks/multi_phase_throughput.py --workers 8 --configs 20000
	$(PY) benchmarks/dispatcher_throughput.py --workers 1,4,16 --messages 10000 --raw --idle 1000

lint: install
	$(VENV)/bin/ruff check src tests benchmarks trials tuners
	$(VENV)/bin/ruff format --check src tests benchmarks trials tuners

clean:
	rm -rf $(VENV) build src/*.egg-info
