# `make run` and `make test` are all a newcomer needs; both set up .venv on first use.
# `make serve` runs the production-like topology of docker-compose.yml on PostgreSQL and Redis.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PORT ?= 8000

.PHONY: run serve test install lint format clean

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=python3.x).")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(INSTALLED)

run: export DJANGO_DEBUG ?= true
# Links, the Request API examples and the Meta callback URL name the port the app is on.
run: export SITE_URL ?= http://127.0.0.1:$(PORT)
run: $(INSTALLED)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	@echo "TextPeak is starting on http://127.0.0.1:$(PORT)/ (Ctrl-C stops the web app, worker and beat)"
	$(BIN)/honcho start --procfile Procfile.dev --port $(PORT)

# docker-compose.yml's services on this machine (Procfile.serve), over plain HTTP on loopback.
SERVE_SECRETS := $(or $(TEXTPEAK_VAR_DIR),var)/serve-secrets

ifneq ($(filter serve,$(MAKECMDGOALS)),)
ifeq ($(and $(DATABASE_URL),$(REDIS_URL)),)
$(error make serve runs on PostgreSQL and Redis: set DATABASE_URL and REDIS_URL)
endif
endif

# The secrets production refuses to start without: the environment's, else those made once
# into $(SERVE_SECRETS) (var/ is not in git). `private`: only serve's own recipe reads the
# file, once it is made (a prerequisite would read it before).
serve: private export DJANGO_SECRET_KEY ?= $(word 1,$(file < $(SERVE_SECRETS)))
serve: private export TEXTPEAK_ENCRYPTION_KEYS ?= $(word 2,$(file < $(SERVE_SECRETS)))
serve: export DJANGO_DEBUG = false
serve: export ALLOWED_HOSTS ?= 127.0.0.1,localhost
serve: export SITE_URL ?= http://127.0.0.1:$(PORT)
serve: export SECURE_SSL_REDIRECT ?= false
serve: $(INSTALLED) $(SERVE_SECRETS)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py collectstatic --noinput --verbosity=0
	@echo "TextPeak is starting on http://127.0.0.1:$(PORT)/ (Ctrl-C stops gunicorn, the workers and beat)"
	$(BIN)/honcho start --procfile Procfile.serve --port $(PORT)

# A Django secret key and a Fernet key (32 random bytes, URL-safe base64), readable by the owner only.
$(SERVE_SECRETS):
	@mkdir -p $(@D)
	@(umask 077 && $(PYTHON) -c 'import base64, os, secrets; print(secrets.token_urlsafe(50), base64.urlsafe_b64encode(os.urandom(32)).decode())' > $@)

test: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

lint: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var
