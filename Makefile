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

# Not a test: prints ratios to a bare Django view, p50/p99 and a per-request profile (e.g. BENCH_ARGS="--duration 3").
# PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set (scratch database chairside_bench, Redis db 3), else
# SQLite. The load generator is wrk (Debian's package), installed here when missing.
bench: $(VENV)/.base
	@command -v wrk >/dev/null || (apt-get install -y wrk || sudo apt-get install -y wrk)
	$(PY) tests/bench/http_bench.py $(BENCH_ARGS)
	$(PY) tests/bench/monitoring_bench.py
	$(PY) tests/bench/bulk_bench.py

worker: $(VENV)/.base
	$(VENV)/bin/celery -A portal worker --loglevel=INFO

beat: $(VENV)/.base
	$(VENV)/bin/celery -A portal beat --loglevel=INFO

clean:
	rm -rf $(VENV) var staticfiles
