# Two commands on a fresh Debian machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# Reinstall when the dependencies or their pins change.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get

.PHONY: run serve test lint test-calendar translations system-packages postgresql redis

$(STAMP): pyproject.toml constraints.txt
	@python3 -m venv $(VENV) 2>/dev/null || { $(APT) update -qq && $(APT) install -y -qq python3-venv && python3 -m venv $(VENV); }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
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

# Lint, format and types (configured in pyproject.toml) before the tests: seconds, mypy's cache included.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Four pytest workers on two cores: much of the suite's time is spent waiting (servers starting, browsers,
# locks, sleeps), not computing; a worker that runs out of tests takes some from another (worksteal), so a few
# long tests collected late do not leave the others idle at the end.
test: $(STAMP) translations system-packages lint
	$(BIN)/pytest -n 4 --dist worksteal


# The tests that read the real clock, run with the clock (theirs and their subprocesses') set to days that
# break date arithmetic: Christmas and New Year's Eves, the Thursday and Friday before Easter, both clock
# changes, a leap day, bridges, eves of holidays, a Sunday night. Three clocks
# run at once (their servers and clusters take free ports); each one's output is in instance/test-calendar/.
CALENDAR_DATES := 2026-12-24T10:00 2026-12-31T16:30 2027-03-25T16:00 2027-03-26T09:30 2027-03-28T03:30 \
	2027-10-31T02:30 2028-02-29T11:00 2027-05-05T17:45 2027-05-10T08:00 2027-07-13T17:50 2027-11-10T12:00 \
	2026-11-29T20:00
CALENDAR_TESTS := tests/test_races_pg.py tests/test_authz_matrix.py tests/test_feeds.py tests/test_web.py \
	tests/test_auth.py tests/test_demo.py tests/test_interventions_web.py tests/test_dates.py \
	tests/test_back_office.py tests/test_backoffice.py tests/test_calendar_reports.py tests/test_calendar_sync.py \
	tests/test_webhooks.py tests/test_webhooks_admin.py tests/test_staff_bookings.py tests/test_invites.py \
	tests/test_mail_links.py tests/test_why_not.py tests/test_client_home.py tests/test_dashboard.py tests/browser/test_dashboard.py tests/browser/test_back_office.py \
	tests/browser/test_backoffice.py tests/browser/test_why_not.py tests/browser/test_mail_links.py \
	tests/browser/test_webhooks.py tests/browser/test_calendars.py \
	tests/browser/test_booking.py tests/browser/test_costs.py tests/browser/test_slot_notes.py \
	tests/test_plan_workers.py tests/browser/test_plan_progress.py tests/test_tokens.py tests/test_sessions.py \
	tests/test_transitions_pg.py tests/test_idempotency_faults.py tests/test_feed_cache.py tests/test_fuzz_api.py \
	tests/browser/test_quote.py tests/browser/test_planner.py tests/browser/test_release.py tests/test_callback_commitments.py \
	tests/test_faults_pg.py::test_postgresql_restart_during_a_burst_of_bookings \
	tests/test_faults_pg.py::test_kill_9_of_the_worker_applying_a_plan_leaves_no_partial_plan \
	tests/test_jobs.py::test_two_scheduler_processes_on_postgresql_run_each_due_job_once \
	--deselect tests/test_races_pg.py::test_fifty_clients_one_slot_exactly_one_wins
test-calendar: $(STAMP) translations system-packages
	@mkdir -p instance/test-calendar; \
	echo $(CALENDAR_DATES) | tr ' ' '\n' | xargs -P 3 -I{} sh -c '$(BIN)/pytest -q -p no:cacheprovider --clock={} \
		$(CALENDAR_TESTS) > instance/test-calendar/{}.log 2>&1 && echo "clock {}: passed" || \
		{ echo "clock {}: FAILED (instance/test-calendar/{}.log)"; exit 1; }'
