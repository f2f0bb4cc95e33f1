# The two commands: `make run` (set up and start on the embedded default) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Where `make run` serves: `make run PORT=8001`, or `make run HOST=0.0.0.0` to be reached from other machines.
HOST ?= 127.0.0.1
PORT ?= 8000
# The address to open: a server listening on every interface (0.0.0.0) is opened on this machine's own.
OPEN_HOST := $(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(HOST))

.PHONY: run test setup migrate demo worker beat bench lint clean sms-fake

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py load_demo

run: migrate
	@$(PY) -c "import socket; socket.create_server(('$(HOST)', $(PORT))).close()" 2>/dev/null \
		|| { echo "$(HOST):$(PORT) is in use or not this machine's: choose another, e.g. make run PORT=8001"; exit 1; }
	$(PY) manage.py load_demo --url http://$(OPEN_HOST):$(PORT)/
	$(PY) manage.py runserver $(HOST):$(PORT)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

worker: $(STAMP)
	$(VENV)/bin/celery -A dispensary worker --loglevel=INFO

beat: $(STAMP)
	$(VENV)/bin/celery -A dispensary beat --loglevel=INFO

# The local fake of a Twilio-compatible SMS provider; run the platform with SMS_BACKEND=twilio beside it.
SMS_FAKE_PORT ?= 8025
sms-fake: $(STAMP)
	$(PY) manage.py sms_fake_provider --port $(SMS_FAKE_PORT)

bench: $(STAMP)
	$(PY) -m tests.bench.run

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles var
