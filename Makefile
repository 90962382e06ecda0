# Chairside. `make run` serves the portal with demo data; `make test` runs every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
DEMO_EMAIL ?= admin@demo.chairside.local
DEMO_PASSWORD ?= chairside-demo-1
SUPPORT_EMAIL ?= support@chairside.local
SUPPORT_PASSWORD ?= chairside-support-1

.PHONY: run test bench setup setup-dev worker beat check clean

$(VENV)/.base: requirements/base.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/base.txt
	touch $@

$(VENV)/.dev: $(VENV)/.base requirements/dev.txt
	$(PY) -m pip install --quiet -r requirements/dev.txt
	touch $@

setup: $(VENV)/.base
	mkdir -p var/mail
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --email $(SUPPORT_EMAIL) --password $(SUPPORT_PASSWORD) --staff
	$(PY) manage.py seed_demo --email $(DEMO_EMAIL) --password $(DEMO_PASSWORD) --organization "Demo Dental Software"

run: setup
	@echo ""
	@echo "Chairside is running on http://127.0.0.1:$(PORT)"
	@echo "  Developer admin: $(DEMO_EMAIL) / $(DEMO_PASSWORD)"
	@echo "  Support staff:   $(SUPPORT_EMAIL) / $(SUPPORT_PASSWORD)   (support console: /admin/)"
	@echo "  Emails are printed here and saved in var/mail/"
	@echo ""
	PORT=$(PORT) $(PY) manage.py runserver 127.0.0.1:$(PORT)

setup-dev: $(VENV)/.dev

test: setup-dev
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

# Not a test: prints req/s and ratios to a bare Django view (e.g. BENCH_ARGS="--duration 4 --workers 2").
bench: $(VENV)/.base
	$(PY) tests/bench/api_bench.py $(BENCH_ARGS)
	$(PY) tests/bench/board_bench.py
	$(PY) tests/bench/monitoring_bench.py
	$(PY) tests/bench/bulk_bench.py

worker: $(VENV)/.base
	$(VENV)/bin/celery -A portal worker --loglevel=INFO

beat: $(VENV)/.base
	$(VENV)/bin/celery -A portal beat --loglevel=INFO

clean:
	rm -rf $(VENV) var staticfiles
