# Two commands on a fresh Debian machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# Reinstall when the dependencies change.
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get

.PHONY: run serve test translations system-packages postgresql redis

$(STAMP): pyproject.toml
	@python3 -m venv $(VENV) 2>/dev/null || { $(APT) update -qq && $(APT) install -y -qq python3-venv && python3 -m venv $(VENV); }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

translations: $(STAMP)
	@$(BIN)/pybabel compile -d booking/translations 2>&1 | grep -v "^compiling" || true

# PostgreSQL (the tests start their own throwaway cluster), Redis (the rate limits' shared store; the tests
# start their own) and Chromium (browser tests).
system-packages:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/redis-server ]; then \
		echo "Installing PostgreSQL, Redis and Chromium from Debian's packages..."; \
		$(APT) update -qq && $(APT) install -y -qq postgresql postgresql-contrib redis-server chromium fonts-dejavu-core >/dev/null; \
	fi

run: $(STAMP) translations
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi demo
	$(BIN)/flask --app wsgi serve

# Production layout: supervisord (booking/supervisord.conf) runs gunicorn (4 workers), the scheduler and a
# loopback Redis for the rate limits, restarting whichever dies; PostgreSQL beside them.
# DATABASE_URL=postgresql://… to use your server; without it a local cluster is kept (see README).
serve: $(STAMP) translations postgresql redis
	$(BIN)/python -m booking.serve

postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [ -n "$$DATABASE_URL" ] || \
		{ $(APT) update -qq && $(APT) install -y -qq postgresql postgresql-contrib >/dev/null; }

# Not needed when RATELIMIT_STORAGE_URI names a store of yours.
redis:
	@[ -x /usr/bin/redis-server ] || [ -n "$$RATELIMIT_STORAGE_URI" ] || \
		{ $(APT) update -qq && $(APT) install -y -qq redis-server >/dev/null; }

test: $(STAMP) translations system-packages
	$(BIN)/pytest

