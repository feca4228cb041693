# Two commands do everything on a fresh machine: `make synth` and `make test`.
# Each installs what it needs first (a virtual environment with pinned packages, the pinned CDK CLI).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ENV ?= sandbox
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CDK := node_modules/.bin/cdk
OUT := cdk.out

# Quiet, offline tools: no Node end-of-life banner, no SDK warnings, no telemetry or notices.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
export NODE_NO_WARNINGS := 1
export CDK_DISABLE_CLI_TELEMETRY := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Python keeps compiled modules (and pytest its assertion-rewritten test modules) in __pycache__, which git ignores:
# a machine that turns that off would compile a few hundred modules again in every process of every run.
export PYTHONDONTWRITEBYTECODE :=
CDK_FLAGS := --no-notices --no-version-reporting

.PHONY: help setup synth test test-suites lint typecheck unit security snapshot-update bench bench-tests clean
.PHONY: deploy smoke diff destroy cost curate-local
.PHONY: analytics-start analytics-stop analytics-status

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# --- setup (each step reruns only when its pins change) ---------------------------------------------------------

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-ml.txt constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "error: Python 3.11 or newer is required, found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	@node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : (console.error("error: Node.js 20 or newer is required, found " + process.version), 1))'
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(VENV)/.installed node_modules/.installed ## Install the pinned Python packages and CDK CLI

# checkov pins boto3 and packaging to versions the main environment cannot take, so it gets an environment of its own.
CHECKOV_VENV := .venv-checkov

$(CHECKOV_VENV)/.installed: requirements-checkov.txt constraints-checkov.txt
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip==25.3
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt -c constraints-checkov.txt
	@touch $@

# The Flink application as Managed Service for Apache Flink runs it (build/flink/stream_analytics/): the Analytics
# stack ships it as an asset, so synthesis needs it. It is rebuilt only when its sources or pins change. The connector
# jar is built when Maven can resolve it (FLINK_JAR=optional); `make deploy` refuses an artifact without it.
FLINK_APP := flink_apps/stream_analytics
FLINK_ARTIFACT := build/flink/.stream_analytics.built
FLINK_JAR ?= optional

# --- the two commands --------------------------------------------------------------------------------------------

# CloudFormation's validation plugin (a WebAssembly engine: 3.5 s of CPU to start, more than the rest of a small synth)
# runs in the security gate's synthesis of every environment, in `make security` and `make test`, not on every synth.
SYNTH_FLAGS := --quiet --no-validation

synth: setup $(FLINK_ARTIFACT) ## Synthesize one environment (ENV=sandbox) into cdk.out and list its stacks
	$(CDK) synth $(CDK_FLAGS) $(SYNTH_FLAGS) -c env=$(ENV) --output $(OUT)
	@$(BIN)/python -m tools.synth_summary $(OUT)

# The unit tests synthesize each environment once and run the security gate's review on it (tests/conftest.py), so
# `make test` holds the gate's verdict without synthesizing again; `make security` writes the reports. The Flink
# job's tests run in its own environment (flink-test).
# The Flink job's tests run beside pytest's two workers, which alone leave the cores idle part of the time (make
# bench-tests: about 5 s of a minute); each suite's output is printed whole when it ends. GNU make 3 (macOS's
# /usr/bin/make) has no --output-sync, so there the two run one after the other.
ifneq ($(filter 3.%,$(MAKE_VERSION)),)
TEST_SUITES := --no-print-directory unit flink-test
else
TEST_SUITES := --no-print-directory -j2 --output-sync=target unit flink-test
endif

test: setup lint typecheck test-suites ## Run everything CI runs: format, lint, types, tests, the security gate

# The two suites as `make test` runs them (what make bench-tests times).
test-suites:
	@$(MAKE) $(TEST_SUITES)

# --- parts of `make test` ----------------------------------------------------------------------------------------

lint: setup ## ruff format check and lint
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

# mypy's cache of aws-cdk-lib's types takes minutes to build cold; keep it outside the clone so that every clone
# (CI's included) on the same machine reuses it.
MYPY_CACHE ?= $(HOME)/.cache/ml-data-lake/mypy

typecheck: setup ## mypy --strict over the code
	$(BIN)/mypy --cache-dir $(MYPY_CACHE)

unit: setup $(CHECKOV_VENV)/.installed ## pytest: config, templates, snapshots, the security gate, Lambda, Glue, tools
	$(BIN)/pytest -n 2 --dist loadgroup --ignore=tests/flink_apps

security: setup $(CHECKOV_VENV)/.installed $(FLINK_ARTIFACT) ## cdk-nag, cfn-lint, checkov and cfn-guard (Control Tower) over every environment; reports/security/
	$(BIN)/python -m tools.security

snapshot-update: setup ## Accept template changes into the snapshots (review the diff!)
	$(BIN)/pytest tests/infra --snapshot-update

# --- a sandbox account (these need AWS credentials, except `make cost`) ------------------------------------------

# Confirmations for environments that keep their data (prod): `make deploy ENV=prod CONFIRM=prod`,
# `make destroy ENV=prod FORCE=prod`.
CONFIRM ?=
FORCE ?=

deploy: setup ml-wheels $(FLINK_ARTIFACT) ## Check credentials and bootstrap, deploy every stack of ENV, write outputs/ENV.json
	$(BIN)/python -m tools.deploy --env $(ENV) --confirm "$(CONFIRM)" -- $(CDK) $(CDK_FLAGS)

smoke: setup ## Push test records through the deployed ENV and check the raw zone, workflow, Parquet, tables
	$(BIN)/python -m tools.smoke --env $(ENV) --confirm "$(CONFIRM)"

diff: setup ml-wheels $(FLINK_ARTIFACT) ## cdk diff of ENV against its deployed stacks
	$(BIN)/python -m tools.deploy --env $(ENV) --diff -- $(CDK) $(CDK_FLAGS)

destroy: setup ## Delete the stacks of ENV; refused where its settings keep data, unless FORCE=ENV
	$(BIN)/python -m tools.destroy --env $(ENV) --force "$(FORCE)" -- $(CDK) $(CDK_FLAGS)

cost: setup $(FLINK_ARTIFACT) ## Estimate the fixed monthly cost of ENV from its synthesized templates
	$(BIN)/python -m tools.cost --env $(ENV)

# --- real-time analytics in a deployed environment (issue 11; needs analytics.enabled and AWS credentials) -----------
# The Flink application is created stopped (READY, nothing billed); it is billed per KPU-hour from start to stop.

analytics-start: setup ## Start the Flink application of ENV (from its latest snapshot) and wait until RUNNING
	$(BIN)/python -m tools.analytics start --env $(ENV)

analytics-stop: setup ## Stop the Flink application of ENV (snapshot first) and wait until READY
	$(BIN)/python -m tools.analytics stop --env $(ENV)

analytics-status: setup ## Say whether the Flink application of ENV runs, and what it costs per hour
	$(BIN)/python -m tools.analytics status --env $(ENV)

bench: setup ## Run the benchmarks and print their figures
	$(BIN)/python -m bench.synth_bench
	$(BIN)/python -m bench.bench_transform
	$(BIN)/python -m bench.bench_etl
	$(BIN)/python -m bench.bench_eda

# Not part of `make bench`: it runs `make test`'s parts itself (a few minutes).
bench-tests: setup ## Time make test part by part: wall and CPU seconds, and each pytest worker's busy time
	$(BIN)/python -m bench.bench_tests

# --- the Glue job's logic on local Spark ------------------------------------------------------------------------

curate-local: setup ## Curate the sample raw events on local Spark into outputs/curate-local/ (run it twice: nothing is added)
	$(BIN)/python -m glue_jobs.curate_events.local --raw_path tests/glue_jobs/fixtures \
	  --curated_path outputs/curate-local/curated --quarantine_path outputs/curate-local/quarantine

# --- ML: exploratory analysis, features and a model (issue 12) ---------------------------------------------------

# `make eda` generates readings, curates them on local Spark and analyses them (no AWS account);
# `make eda INPUT=<CSV | Parquet file | folder> [TARGET=col] [OUT=folder]` analyses any table;
# `make eda ENV=sandbox [TABLE=db.table]` reads the deployed curated table through Athena.
INPUT ?=
TARGET ?=
TABLE ?=
# OUT names cdk.out for the CDK targets; for `make eda` it is the report folder, when given.
EDA_OUT = $(if $(filter command line,$(origin OUT)),$(OUT),reports/eda)
ML_WHEELS := build/ml/wheels

.PHONY: eda ml-wheels

eda: setup ## Exploratory analysis + model into reports/eda/ (INPUT=file|folder TARGET=col OUT=dir, or ENV=sandbox)
	@if [ -n "$(INPUT)" ]; then \
	  $(BIN)/python -m ml_jobs.eda --input "$(INPUT)" $(if $(TARGET),--target "$(TARGET)") --out "$(EDA_OUT)" \
	    && echo "report: $(EDA_OUT)/index.html"; \
	elif [ "$(origin ENV)" = "command line" ]; then \
	  $(BIN)/python -m ml_jobs.eda.sandbox --env "$(ENV)" --out "$(EDA_OUT)" $(if $(TABLE),--table "$(TABLE)"); \
	else \
	  $(BIN)/python -m ml_jobs.eda.local --out "$(EDA_OUT)"; \
	fi

ml-wheels: $(ML_WHEELS)/requirements.txt ## Download the cp312 wheels the SageMaker scikit-learn image lacks (build/ml/wheels/)

$(ML_WHEELS)/requirements.txt: requirements-ml-image.txt | setup
	rm -rf $(ML_WHEELS) && mkdir -p $(ML_WHEELS)
	$(BIN)/python -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	  --abi cp312 --abi abi3 --abi none --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 \
	  -r requirements-ml-image.txt -d $(ML_WHEELS)
	cp requirements-ml-image.txt $@

# --- replay (needs AWS credentials) ------------------------------------------------------------------------------

SOURCE ?=
SINCE ?=
APPLY ?=

.PHONY: replay
replay: setup ## Re-send now-valid rejected records (SOURCE=errors|quarantine [SINCE=YYYY-MM-DD]); dry run unless APPLY=1
	$(BIN)/python -m tools.replay --env $(ENV) --source "$(SOURCE)" $(if $(SINCE),--since "$(SINCE)") $(if $(APPLY),--apply)

# --- raw formats (issue 13, unit 1): local, no AWS account ---------------------------------------------------------

RECORDS ?= 2000

.PHONY: raw-formats
raw-formats: setup ## Land the same readings as GZIP JSON and as Parquet, curate both on local Spark, compare (RECORDS=2000)
	$(BIN)/python -m tools.raw_formats --records $(RECORDS) --out build/raw-formats

# --- change data capture (issue 13, unit 4) ------------------------------------------------------------------------
# The replication is created stopped by `make deploy` (cdc.enabled); it is billed per DCU-hour from start until DMS
# deprovisions its capacity, up to ~48 h after a stop. `make cdc-local` needs no AWS account.

RELOAD ?=

.PHONY: cdc-start cdc-stop cdc-status cdc-local

cdc-start: setup ## Print what a running hour costs, then start the CDC replication of ENV (RELOAD=1 loads again)
	$(BIN)/python -m tools.cdc start --env $(ENV) $(if $(RELOAD),--reload)

cdc-stop: setup ## Stop the CDC replication of ENV (capacity stays billed until DMS deprovisions it)
	$(BIN)/python -m tools.cdc stop --env $(ENV)

cdc-status: setup ## Say whether the CDC replication of ENV runs or holds capacity, and what that costs per hour
	$(BIN)/python -m tools.cdc status --env $(ENV)

cdc-local: setup ## DMS-shaped change files for a sample table, the current-state job on local Spark; build/cdc-local/
	$(BIN)/python -m glue_jobs.cdc_current_state.local --out build/cdc-local

clean: ## Remove what the commands produced (keeps the installs)
	rm -rf $(OUT) .cache .pytest_cache .ruff_cache reports build flink_apps/stream_analytics/target

# --- analytics (issue 11): the PyFlink job in its own environment ------------------------------------------------

# PyFlink pins pandas, pyarrow and numpy below the main environment's, so the job gets .venv-flink. Python 3.12 is
# what Managed Service for Apache Flink's FLINK-2_2 runtime runs; any 3.11+ works locally.
FLINK_VENV := .venv-flink
FLINK_BIN := $(FLINK_VENV)/bin
PYTHON_FLINK ?= $(shell for p in python3.12 "$$(pyenv prefix 3.12 2>/dev/null)/bin/python3.12" $(PYTHON); do "$$p" -c 'import sys' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
TIME ?=
VALUES ?=
KEY ?=
OUTPUT ?= scored.csv

.PHONY: flink-setup flink-test flink-artifact analytics-local detect bench-flink

$(FLINK_VENV)/.installed: requirements-flink.txt constraints-flink.txt
	@test -x $(FLINK_BIN)/python || $(PYTHON_FLINK) -m venv $(FLINK_VENV)
	$(FLINK_BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(FLINK_BIN)/python -m pip install --quiet -r requirements-flink.txt -c constraints-flink.txt
	@touch $@

flink-setup: $(FLINK_VENV)/.installed ## Install the analytics job's environment (.venv-flink: PyFlink, krcf)

flink-test: $(FLINK_VENV)/.installed ## Tests of the analytics job (units, properties, one mini-cluster run)
	$(FLINK_BIN)/pytest tests/flink_apps -q -p no:cacheprovider --confcutdir=tests/flink_apps

flink-artifact: $(FLINK_VENV)/.installed ## Build build/flink/stream_analytics/ (main.py, package, lib/*.jar, dep/) for MSF
	$(FLINK_BIN)/python $(FLINK_APP)/package_artifact.py --jar $(FLINK_JAR)
	@touch $(FLINK_ARTIFACT)

$(FLINK_ARTIFACT): $(shell find $(FLINK_APP) -name '*.py' -not -path '*/target/*') $(FLINK_APP)/pom.xml \
		requirements-flink.txt constraints-flink.txt | $(FLINK_VENV)/.installed
	$(FLINK_BIN)/python $(FLINK_APP)/package_artifact.py --jar $(FLINK_JAR)
	@touch $@

analytics-local: $(FLINK_VENV)/.installed ## Labelled readings through the real Flink job locally; anomalies, hotspots, scores
	cd $(FLINK_APP) && ../../$(FLINK_BIN)/python -m stream_analytics.local_run --out ../../build/analytics-local

detect: $(FLINK_VENV)/.installed ## Score a CSV offline: make detect INPUT=f.csv TIME=col VALUES=a,b [KEY=col] OUTPUT=out.csv
	cd $(FLINK_APP) && ../../$(FLINK_BIN)/python -m stream_analytics.detect --input "$(abspath $(INPUT))" --time "$(TIME)" \
		--values "$(VALUES)" --key "$(KEY)" --output "$(abspath $(OUTPUT))"

bench-flink: $(FLINK_VENV)/.installed ## Detector readings/s per core; local job readings/s and put-to-anomaly latency
	$(FLINK_BIN)/python bench/bench_detector.py
	cd $(FLINK_APP) && ../../$(FLINK_BIN)/python -m stream_analytics.local_run --out ../../build/analytics-bench

# --- warehouse (issue 13, unit 2): Redshift Serverless in a deployed environment (needs warehouse.enabled) ----------
# `make warehouse-query ENV=prod SQL="SELECT ..."` or `SQL_FILE=warehouse/sql/copy_sensor_events.sql [ADMIN=1]`.
# The SQL reaches the tool through the environment (make exports command-line variables), so quotes in it need no
# escaping for make.
SQL ?=
SQL_FILE ?=
ADMIN ?=

.PHONY: warehouse-query

warehouse-query: setup ## Run SQL="..." or SQL_FILE=f.sql on ENV's warehouse (Data API) and print the result [ADMIN=1]
	@test -n "$${SQL:-}$(SQL_FILE)" || { echo 'error: give SQL="SELECT ..." or SQL_FILE=warehouse/sql/<file>.sql' >&2; exit 2; }
	$(BIN)/python -m tools.warehouse --env $(ENV) $(if $(SQL_FILE),--file "$(SQL_FILE)",--sql "$${SQL:-}") \
		$(if $(ADMIN),--admin)
# --- video (issue 13, unit 3): Kinesis Video Streams and the frame labeler ----------------------------------------

.PHONY: video-clip video-local video-smoke

video-clip: setup ## Write the synthetic H.264 MKV clip (build/video/clip.mkv): a red square, a blue disc, frame numbers
	$(BIN)/python -m tools.video_clip build/video/clip.mkv

video-local: setup ## The labeler's code on the clip, no AWS account: labels, events and a contact sheet in build/video-local/
	$(BIN)/python -m tools.video_local --out build/video-local

video-smoke: setup ## Send the clip to the deployed ENV's video stream, check fragments, run the labeler, find its labels in S3
	$(BIN)/python -m tools.video_smoke --env $(ENV) --confirm "$(CONFIRM)"
