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
	$(PY) -m pip install -q -e '.[nas,ray,smac,test]'
	@touch $(STAMP)

# Bytecode of the package, where the interpreter does not write it itself
# (PYTHONDONTWRITEBYTECODE, as on CI): each `asyncnni run` and each trial would compile
# ~50 modules again (0.09 s of CPU); compileall skips what is up to date.
install: $(STAMP)
	@$(PY) -m compileall -q src >/dev/null

run: install
	$(VENV)/bin/asyncnni run trials/quickstart/exp.yaml

# the dashboard's browser tests need Debian's chromium; as root it is installed here
# (playwright drives it; `playwright install` downloads a browser and is never run)
test: install
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium could not be installed: the browser tests will be skipped"; fi
	$(PY) -m pytest -q

# the figures of README's Performance section, each with its raw baseline of the same run
# (a quarter of an hour on 2 cores; NNI's comparison needs ASYNCNNI_NNI_PYTHON, the python of
# a venv with nni==3.0, see benchmarks/vs_nni.py); JSON lines on stdout, tables on stderr;
# benchmarks/README.md explains the figures. The bench extra brings Optuna (TPE's baseline).
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): pyproject.toml | $(STAMP)
	$(PY) -m pip install -q -e '.[nas,ray,test,bench]'
	@touch $(BENCH_STAMP)

bench: install $(BENCH_STAMP)
	$(PY) benchmarks/report_throughput.py --trials 8 --reports 25000 --pairs 2
	$(PY) benchmarks/multi_phase_throughput.py --workers 8 --configs 20000 --raw 1 --pairs 2
	$(PY) benchmarks/dispatcher_throughput.py --workers 1,4,16 --messages 10000 --raw --idle 1000
	$(PY) benchmarks/quickstart.py --trials 10 --pairs 1
	$(PY) benchmarks/fixed_cost.py --pairs 5
	$(PY) benchmarks/e2e_trials.py --trials 20 --concurrency 4
	$(PY) benchmarks/e2e_trials.py --trials 20 --concurrency 4 --fork 1
	$(PY) benchmarks/vs_nni.py --trials 20 --concurrency 4  # skipped unless ASYNCNNI_NNI_PYTHON
	$(PY) benchmarks/tuner_quality.py --tuners TPE,optuna-TPE --functions branin --seeds 1 \
		--trials 10 --timing-obs '' --rounds 1000

lint: install
	$(VENV)/bin/ruff check src tests benchmarks trials tuners
	$(VENV)/bin/ruff format --check src tests benchmarks trials tuners

clean:
	rm -rf $(VENV) build src/*.egg-info
