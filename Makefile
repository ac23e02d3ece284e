# The few things everyone runs. `make test` is what .ci/run runs.
PY := .venv/bin/python

.PHONY: run test lint check-knowledge bench setup
setup:
	./scripts/setup

run:
	./scripts/run

test:
	./scripts/test

lint:
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

check-knowledge:
	$(PY) -m bot.knowledge

bench:
	$(PY) -m bench.scan
	$(PY) -m bench.logs
	$(PY) -m bench.slack
