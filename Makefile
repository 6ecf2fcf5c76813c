# Two commands do all the set-up: `make run` (local API, embedded DynamoDB, seeded) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PORT ?= 3000

.PHONY: run test lint bench openapi requirements build deploy clean

# The layer's pinned, hash-checked packages first: the tests run on the versions the layer ships.
$(STAMP): pyproject.toml layers/core/requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r layers/core/requirements.txt
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

run: $(STAMP)
	PORT=$(PORT) $(PY) -m infra.local

lint: $(STAMP)
	$(PY) -m ruff check .
	$(VENV)/bin/cfn-lint template.yaml

test: lint
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m infra.bench

openapi: $(STAMP)
	$(PY) -m infra.openapi docs/openapi.json

requirements: $(STAMP)
	$(PY) -m infra.requirements layers/core/requirements.txt

# `sam build` ships no .pyc files; compiling them (with the runtime's Python) halves cold imports.
# unchecked-hash: `sam deploy` dates every zip entry 1980-01-01, so timestamp-checked .pyc files would all
# be stale on Lambda and recompiled on every cold start (infra/bench/coldstart.py builds the same way).
LAMBDA_PYTHON ?= python3.12
build:
	sam build
	$(LAMBDA_PYTHON) -m compileall -q -j 0 --invalidation-mode unchecked-hash .aws-sam/build

deploy: build
	sam deploy --guided

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .ruff_cache .hypothesis
