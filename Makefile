# The README's commands.  Everything runs from a virtual environment in .venv that these
# targets create, so a fresh machine needs only python3 (3.11+) and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: install install-test system-deps run serve test lint bench-smoke clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# A stamp per install, newer than pyproject.toml once its packages are in: pip takes seconds
# (20 on a loaded machine) to find that nothing is missing, so it runs when the file changes.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# Debian packages (Pango and CJK fonts for the PDF forms; ffmpeg, poppler, chromium for tests).
system-deps:
	bash scripts/system-deps.sh --test

# Talk to the assistant in the terminal, on the embedded SQLite store under ./data.
# Without the runtime packages everything but the PDF forms works, so a failure only warns.
run: install
	-bash scripts/system-deps.sh --runtime
	$(BIN)/python -m bot chat

serve: install
	$(BIN)/python -m bot serve

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Tests use the Redis server at 127.0.0.1:6379 for real (.ci/run starts one if none answers).
# -n auto: one pytest worker per core; the suite is mostly CPU (PDFs, videos, Chromium, the
# broadcast crash tests) and takes about half the time on 2 cores.  Every test uses its own
# ports, folders and Redis prefix, so workers do not meet.  --dist worksteal: a worker that
# runs out takes queued tests from the other, so the 10-20 s fault and browser tests do not
# leave one core idle at the end (the suite is near CI's 10-minute budget).
test: install-test system-deps lint
	$(BIN)/pytest -q -n auto --dist worksteal

# Every bench once in its --smoke form (one tiny round each, one bench per core at a time;
# about 40 s of CPU in all, so its wall time is that over the cores it gets): a bench that
# crashes fails; figures of a tiny round mean nothing, so a missed target does not.
bench-smoke: install-test
	PYTHON=$(BIN)/python bash scripts/bench-smoke.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
