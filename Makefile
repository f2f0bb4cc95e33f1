# The two commands: `make run` (set up and start on the embedded default) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Where `make run` serves: `make run PORT=8001`, or `make run HOST=0.0.0.0` to be reached from other machines.
HOST ?= 127.0.0.1
PORT ?= 8000
SMS_FAKE_PORT ?= 8025
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

# Texts go through the local fake SMS provider (SMS=fake: sends, signed status callbacks, replies you post with
# `manage.py sms_fake_provider --reply FROM BODY`), or are only logged (SMS=console, or its port is taken).
SMS ?= fake
run: migrate
	@$(PY) -c "import socket; socket.create_server(('$(HOST)', $(PORT))).close()" 2>/dev/null \
		|| { echo "$(HOST):$(PORT) is in use or not this machine's: choose another, e.g. make run PORT=8001"; exit 1; }
	@if [ "$(SMS)" = fake ] && $(PY) -c "import socket; socket.create_server(('127.0.0.1', $(SMS_FAKE_PORT))).close()" 2>/dev/null; then \
		export SMS_BACKEND=twilio SMS_API_URL=http://127.0.0.1:$(SMS_FAKE_PORT) PUBLIC_SITE_URL=http://$(OPEN_HOST):$(PORT); \
		$(PY) manage.py sms_fake_provider --port $(SMS_FAKE_PORT) & fake=$$!; \
		trap 'kill $$fake 2>/dev/null' EXIT; trap 'exit 130' INT TERM; \
		$(PY) -c "import socket, time; any(socket.socket().connect_ex(('127.0.0.1', $(SMS_FAKE_PORT))) == 0 or time.sleep(0.2) for _ in range(50))"; \
		echo "Texts go to the local fake SMS provider on 127.0.0.1:$(SMS_FAKE_PORT) (make run SMS=console to log them instead)."; \
	else \
		echo "Texts are logged on the console (SMS=$(SMS); the fake SMS provider's port $(SMS_FAKE_PORT) is taken or not asked for)."; \
	fi; \
	$(PY) manage.py load_demo --url http://$(OPEN_HOST):$(PORT)/ && $(PY) manage.py runserver $(HOST):$(PORT)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

worker: $(STAMP)
	$(VENV)/bin/celery -A dispensary worker --loglevel=INFO

beat: $(STAMP)
	$(VENV)/bin/celery -A dispensary beat --loglevel=INFO

# The local fake of a Twilio-compatible SMS provider; run the platform with SMS_BACKEND=twilio beside it.
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
