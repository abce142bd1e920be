"""API keys: shown once, stored only as a hash, checked cheaply."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import credentials, keys, services
from accounts.access import authorize
from accounts.models import ApiKey, Config, Project
from billing.products import Product
from kernel.errors import AccessDenied, Denial


def test_database_never_holds_a_key_in_plain_text(customer_with_credits):
    secret = customer_with_credits.secret
    assert secret.startswith("oak_") and len(secret) == 44
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apikey")
        rows = cursor.fetchall()
    assert rows, "the key row exists"
    for row in rows:
        for value in row:
            assert secret not in str(value)
            assert secret[12:] not in str(value), "only the 12-character lookup prefix is stored"
    stored = ApiKey.objects.get(pk=customer_with_credits.api_key.pk)
    assert stored.prefix == secret[:12]
    assert stored.key_hash == keys.digest(secret) != secret


def test_pepper_changes_the_stored_hash(settings):
    secret = keys.generate().secret
    plain = keys.digest(secret)
    settings.API_KEY_PEPPER = "pepper"
    assert keys.digest(secret) != plain
    assert keys.matches(secret, keys.digest(secret))


def test_malformed_key_is_rejected_before_any_query(db):
    with CaptureQueriesContext(connection) as queries, pytest.raises(AccessDenied) as denied:
        credentials.resolve(credentials.Credential("oak_not-even-close"))
    assert denied.value.denial is Denial.BAD_CREDENTIAL
    assert len(queries) == 0


def test_resolving_a_key_costs_one_query(customer_with_credits):
    # The first use records last_used_at; later uses within the resolution window only read.
    credentials.resolve(credentials.Credential(customer_with_credits.secret))
    with CaptureQueriesContext(connection) as queries:
        principal = credentials.resolve(credentials.Credential(customer_with_credits.secret))
    assert len(queries) == 1
    assert principal.customer.pk == customer_with_credits.customer.pk


def test_authorizing_the_default_config_costs_one_query(customer_with_credits):
    principal = credentials.resolve(credentials.Credential(customer_with_credits.secret))
    with CaptureQueriesContext(connection) as queries:
        access = authorize(principal, product=Product.ASR)
    assert access.config.pk == customer_with_credits.config.pk
    assert len(queries) == 1, [q["sql"] for q in queries]


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_the_default_config_is_read_as_the_orm_reads_it(customer_with_credits):
    c = customer_with_credits
    Config.objects.filter(pk=c.config.pk).update(analytics={"moments": False}, voice={"v": 1})
    principal = credentials.resolve(credentials.Credential(c.secret))
    access = authorize(principal, product=Product.ASR)
    assert _fields(access.config) == _fields(Config.objects.get(pk=c.config.pk))
    assert _fields(access.project) == _fields(Project.objects.get(pk=c.project.pk))
    assert access.config.analytics == {"moments": False}


def test_the_default_config_is_the_oldest_projects(customer_with_credits):
    c = customer_with_credits
    services.create_project(c.customer, "Newer project")
    principal = credentials.resolve(credentials.Credential(c.secret))
    assert authorize(principal, product=Product.ASR).config.pk == c.config.pk


def test_a_key_limited_to_projects_gets_the_default_config_of_one_it_may_use(
    customer_with_credits,
):
    c = customer_with_credits
    other = services.create_project(c.customer, "Other project")
    _, limited = services.create_api_key(c.customer, projects=[other])
    access = authorize(credentials.resolve(credentials.Credential(limited)), product=Product.ASR)
    assert access.project.pk == other.pk
    assert access.config == Config.objects.get(project=other, is_default=True)


def test_a_key_without_a_default_config_it_may_use_is_refused(customer_with_credits):
    c = customer_with_credits
    Config.objects.filter(project=c.project).update(is_default=False)
    principal = credentials.resolve(credentials.Credential(c.secret))
    with pytest.raises(AccessDenied) as refused:
        authorize(principal, product=Product.ASR)
    assert refused.value.denial == Denial.CONFIG_NOT_FOUND


def test_credential_sources_are_tried_in_order():
    extract = credentials.extract
    assert extract({"x-api-key": "A", "authorization": "Bearer B"}, {"api_key": "C"}).secret == "A"
    assert extract({"authorization": "Bearer B"}, {"api_key": "C"}).secret == "C"
    assert extract({"authorization": "Bearer B"}, {}).secret == "B"
    assert extract({}, {"authorization": "Bearer D"}).secret == "D"
    assert extract({"authorization": "Basic Zm9v"}, {}) is None
    assert extract({"x-api-key": "  "}, {}) is None
    assert extract({"x-api-key": "A", "x-customer-id": " u "}, {}).claimed_customer_id == "u"
