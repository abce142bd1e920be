"""The operator console (Django admin): each change flips the very next API request."""

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import User
from django.test import Client

from accounts.models import ApiKey, Customer
from billing.models import LedgerEntry

pytestmark = pytest.mark.integration


@pytest.fixture
def operator(live):
    user = User.objects.create_superuser("operator", "ops@example.com", "a-strong-password-123")
    client = Client()
    client.force_login(user)
    return client


def access(http, key, **params):
    return http.get("/v1/access", headers={"X-API-Key": key}, params=params)


def run_action(operator, model: str, action: str, pks, **extra):
    return operator.post(
        f"/admin/{model}/",
        {"action": action, ACTION_CHECKBOX_NAME: [str(pk) for pk in pks], **extra},
    )


def test_console_lists_customers_with_their_balance(operator, customer_with_credits):
    page = operator.get("/admin/accounts/customer/")
    assert page.status_code == 200
    assert "Acme Calls" in page.content.decode() and "100.000" in page.content.decode()


def test_revoke_action_flips_401(http, operator, customer_with_credits):
    c = customer_with_credits
    assert access(http, c.secret).status_code == 200
    run_action(operator, "accounts/apikey", "revoke", [c.api_key.pk])
    assert access(http, c.secret).status_code == 401


def test_deactivate_and_activate_actions_flip_403(http, operator, customer_with_credits):
    c = customer_with_credits
    run_action(operator, "accounts/customer", "deactivate", [c.customer.pk])
    assert access(http, c.secret).status_code == 403
    run_action(operator, "accounts/customer", "activate", [c.customer.pk])
    assert access(http, c.secret).status_code == 200


def test_grant_credits_action_asks_for_a_reason_and_flips_402(
    http, operator, customer_without_credits
):
    c = customer_without_credits
    assert access(http, c.secret).status_code == 402
    form = run_action(operator, "accounts/customer", "grant_credits", [c.customer.pk])
    assert form.status_code == 200 and "reason" in form.content.decode()
    run_action(
        operator,
        "accounts/customer",
        "grant_credits",
        [c.customer.pk],
        apply="1",
        credits="30",
        reason="trial",
    )
    assert access(http, c.secret).status_code == 200
    entry = LedgerEntry.objects.get(customer=c.customer, kind="grant")
    assert entry.amount == 30 and entry.reason.startswith("trial")


def test_creating_a_key_shows_the_secret_once(http, operator, customer_with_credits):
    c = customer_with_credits
    page = operator.post(
        "/admin/accounts/apikey/add/",
        {"customer": c.customer.pk, "name": "console key", "projects": [c.project.pk]},
    )
    assert page.status_code == 200
    secret = re.search(r"oak_[A-Za-z0-9]{40}", page.content.decode()).group(0)
    key = ApiKey.objects.get(name="console key")
    assert list(key.projects.all()) == [c.project]
    assert access(http, secret).status_code == 200
    detail = operator.get(f"/admin/accounts/apikey/{key.pk}/change/").content.decode()
    assert secret not in detail and secret[12:] not in detail


def test_deleting_a_config_in_the_console_flips_404(http, operator, customer_with_credits):
    c = customer_with_credits
    operator.post(f"/admin/accounts/config/{c.config.pk}/delete/", {"post": "yes"})
    assert access(http, c.secret, config_id=c.config.public_id).status_code == 404


def test_customer_added_in_the_console_gets_a_project_and_config(operator, db):
    from billing.plans import get_plan

    operator.post(
        "/admin/accounts/customer/add/",
        {
            "name": "Console Co",
            "plan": get_plan("free").pk,
            "is_active": "on",
            "projects-TOTAL_FORMS": "0",
            "projects-INITIAL_FORMS": "0",
        },
    )
    customer = Customer.objects.get(name="Console Co")
    assert customer.projects.get().configs.get().is_default
