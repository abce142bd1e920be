# Parlance: `make run` to serve, `make test` to run the suite. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
SECRETS := var/secrets.env
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install lint format check migrations-check bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e ".[test]"
	bash tests/tools/install-system-deps.sh
	touch $@

install: $(STAMP)

# Generated once per checkout so that `make run` needs no configuration and
# keeps its keys across restarts. Real deployments set these in the environment.
$(SECRETS):
	mkdir -p var
	$(BIN)/python -c "import secrets; t = secrets.token_urlsafe; print(f'SECRET_KEY=$${SECRET_KEY:-{t(48)}}'); print(f'JWT_SIGNING_KEY=$${JWT_SIGNING_KEY:-{t(48)}}')" > $@

run: $(STAMP) $(SECRETS)
	set -a && . ./$(SECRETS) && set +a && \
	$(BIN)/python manage.py migrate --noinput && \
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0 && \
	$(BIN)/python manage.py demo && \
	exec $(BIN)/daphne -b $(HOST) -p $(PORT) config.asgi:application

test: $(TEST_STAMP)
	SECRET_KEY=$${SECRET_KEY:-test-secret-key} JWT_SIGNING_KEY=$${JWT_SIGNING_KEY:-test-jwt-signing-key-at-least-32-chars} \
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(TEST_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations-check: $(STAMP)
	SECRET_KEY=check JWT_SIGNING_KEY=check-only-jwt-signing-key-0123456789 $(BIN)/python manage.py makemigrations --check --dry-run

check: lint migrations-check test

clean:
	rm -rf $(VENV) var
