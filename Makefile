# Two commands from a fresh clone: `make demo` and `make test`. Everything they need is set up here.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000
export ENTRAIDE_REQUIRE_VERIFICATION

.PHONY: demo test test-sqlite test-postgres test-browser bench venv messages clean

$(STAMP): requirements/base.txt requirements/dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements/base.txt -r requirements/dev.txt
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/entraide demo --port $(PORT)

# SQLite always; PostgreSQL too when one answers (CI requires it: see .ci/run).
test: $(STAMP)
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$ENTRAIDE_TEST_POSTGRES_URL" ] || $(PY) scripts/pg_available.py; then \
		$(MAKE) --no-print-directory test-postgres; \
	elif [ -n "$$ENTRAIDE_REQUIRE_POSTGRES" ]; then echo "PostgreSQL required but not reachable"; exit 1; \
	else echo "PostgreSQL not reachable: PostgreSQL pass not run"; fi

test-sqlite: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadfile -m "not postgres"

test-postgres: $(STAMP)
	DATABASE_URL=$${ENTRAIDE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test} $(PY) -m pytest -q -n 2 --dist loadfile -m "not browser"

bench: $(STAMP)
	$(PY) bench/geo.py

messages: $(STAMP)
	cd entraide && ../$(VENV)/bin/django-admin makemessages -l fr -l en --ignore "static/vendor/*" && ../$(VENV)/bin/django-admin compilemessages

clean:
	rm -rf $(VENV) var
