# The dev loop. `make test` is the README's test command; CI runs .ci/run.
PG ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: install test test-sqlite lint types demo serve bench

install:
	pip install -e '.[test]'

test:
	SIYU_TEST_POSTGRES_URL=$(PG) python -m pytest -n 2 -q

test-sqlite:
	python -m pytest -n 2 -q

lint:
	ruff check siyu tests bench

types:
	mypy siyu

demo:
	siyu demo

serve:
	siyu serve
