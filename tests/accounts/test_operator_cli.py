"""The operator CLI's exact contract, run as a real process; each change flips the next request."""

import json
import subprocess
import sys

import pytest

from tests.support import ROOT
from tests.support.servers import server_env

pytestmark = pytest.mark.integration


def run_manage(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=server_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def manage(*args: str) -> str:
    done = run_manage(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def manage_fails(*args: str) -> str:
    done = run_manage(*args)
    assert done.returncode != 0
    return done.stderr


@pytest.fixture
def provisioned(live):
    return json.loads(
        manage("provision", "--customer", "CLI Corp", "--plan", "pro", "--credits", "50", "--json")
    )


def access(http, key, **params):
    return http.get("/v1/access", headers={"X-API-Key": key}, params=params)


def test_provision_prints_ids_and_a_working_key(http, provisioned):
    assert set(provisioned) == {"customer_id", "project_id", "config_id", "api_key"}
    body = access(http, provisioned["api_key"]).json()
    assert body["customer_id"] == provisioned["customer_id"]
    assert body["project_id"] == provisioned["project_id"]
    assert body["config_id"] == provisioned["config_id"]
    assert body["plan"] == "pro" and body["balance"] == "50.000"


def test_credits_show_grant_and_set(http, provisioned):
    cid = provisioned["customer_id"]
    assert json.loads(manage("credits", cid, "--show", "--json"))["balance"] == "50.000"
    assert json.loads(manage("credits", cid, "--grant", "25", "--json"))["balance"] == "75.000"
    assert json.loads(manage("credits", cid, "--set", "0", "--json"))["balance"] == "0.000"
    assert access(http, provisioned["api_key"]).status_code == 402
    manage("credits", cid, "--grant", "1")
    assert access(http, provisioned["api_key"]).status_code == 200


def test_credit_grant_with_the_same_idempotency_key_applies_once(provisioned):
    cid = provisioned["customer_id"]
    for _ in range(2):
        manage("credits", cid, "--grant", "10", "--idempotency-key", "invoice-42")
    assert json.loads(manage("credits", cid, "--show", "--json"))["balance"] == "60.000"


def test_deactivate_then_activate_flips_403(http, provisioned):
    manage("customer", provisioned["customer_id"], "--deactivate")
    assert access(http, provisioned["api_key"]).status_code == 403
    manage("customer", provisioned["customer_id"], "--activate")
    assert access(http, provisioned["api_key"]).status_code == 200


def test_apikey_create_and_revoke_by_key_or_prefix(http, provisioned):
    created = json.loads(manage("apikey", "create", provisioned["customer_id"], "--json"))
    assert set(created) == {"api_key", "prefix"} and created["api_key"].startswith(
        created["prefix"]
    )
    assert access(http, created["api_key"]).status_code == 200
    manage("apikey", "revoke", created["prefix"])
    assert access(http, created["api_key"]).status_code == 401
    manage("apikey", "revoke", provisioned["api_key"])
    assert access(http, provisioned["api_key"]).status_code == 401


def test_apikey_limited_to_a_project(http, provisioned):
    limited = json.loads(
        manage(
            "apikey",
            "create",
            provisioned["customer_id"],
            "--project",
            provisioned["project_id"],
            "--json",
        )
    )
    assert access(http, limited["api_key"], project_id=provisioned["project_id"]).status_code == 200


def test_config_delete_flips_404(http, provisioned):
    key, cfg = provisioned["api_key"], provisioned["config_id"]
    assert access(http, key, config_id=cfg).status_code == 200
    manage("config", "delete", cfg)
    assert access(http, key, config_id=cfg).status_code == 404
    assert access(http, key).status_code == 404, "the default config is gone too"


def test_unknown_ids_fail_with_a_message(provisioned):
    assert "no customer" in manage_fails(
        "credits", "00000000-0000-0000-0000-000000000000", "--show"
    )
    assert "no customer" in manage_fails("customer", "nope", "--activate")
    assert "no such API key" in manage_fails("apikey", "revoke", "oak_nothere")
    assert "no config" in manage_fails("config", "delete", "cfg_nothere")
