"""Every row of the error matrix, through real HTTP against a running daphne."""

from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone

from accounts import services, tokens
from accounts.models import ApiKey, Project
from billing import services as billing

pytestmark = pytest.mark.integration

INVALID = {"detail": "Invalid or missing API key"}


def access(http, key=None, **params):
    headers = {"X-API-Key": key} if key else {}
    return http.get("/v1/access", headers=headers, params=params)


def test_valid_key_is_accepted_and_resolves_the_tenant(http, customer_with_credits):
    c = customer_with_credits
    response = access(http, c.secret)
    assert response.status_code == 200
    body = response.json()
    assert body["customer_id"] == str(c.customer.public_id)
    assert body["project_id"] == c.project.public_id
    assert body["config_id"] == c.config.public_id
    assert body["balance"] == "100.000"


def test_no_key_gets_401(http, customer_with_credits):
    response = access(http)
    assert response.status_code == 401
    assert response.json() == INVALID


def test_malformed_key_gets_401(http, customer_with_credits):
    for bad in ("oak_short", "not-a-key", customer_with_credits.secret + "x", "oak_" + "!" * 40):
        response = access(http, bad)
        assert response.status_code == 401, bad
        assert response.json() == INVALID


def test_unknown_key_gets_401(http, customer_with_credits):
    secret = customer_with_credits.secret
    unknown = secret[:-1] + ("A" if secret[-1] != "A" else "B")  # same prefix, wrong secret
    assert access(http, unknown).status_code == 401
    assert access(http, "oak_" + "Z" * 40).status_code == 401


def test_revoked_key_gets_401(http, customer_with_credits):
    services.revoke_api_key(customer_with_credits.api_key)
    response = access(http, customer_with_credits.secret)
    assert response.status_code == 401
    assert response.json() == INVALID


def test_expired_key_gets_401(http, customer_with_credits):
    _key, secret = services.create_api_key(
        customer_with_credits.customer, expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert access(http, secret).status_code == 401


def _token(http, secret) -> str:
    response = http.post("/v1/auth/token", headers={"X-API-Key": secret})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def test_jwt_from_token_endpoint_is_accepted_in_header_and_query(http, customer_with_credits):
    token = _token(http, customer_with_credits.secret)
    assert http.get("/v1/access", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert http.get("/v1/access", params={"authorization": f"Bearer {token}"}).status_code == 200


def test_expired_jwt_gets_401(http, customer_with_credits):
    c = customer_with_credits
    now = timezone.now()
    expired = jwt.encode(
        {
            "iss": tokens.ISSUER,
            "sub": str(c.customer.public_id),
            "prj": c.project.public_id,
            "akp": c.api_key.prefix,
            "iat": now - timedelta(hours=2),
            "exp": now - timedelta(hours=1),
        },
        settings.JWT_SIGNING_KEY,
        algorithm=tokens.ALGORITHM,
    )
    response = http.get("/v1/access", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert response.json() == INVALID


def test_tampered_jwt_gets_401(http, customer_with_credits, outsider):
    token = _token(http, customer_with_credits.secret)
    header, _payload, signature = token.split(".")
    forged = jwt.encode(
        {
            **jwt.decode(token, options={"verify_signature": False}),
            "sub": str(outsider.customer.public_id),
        },
        "an-attacker-key-that-is-long-enough-0123",
        algorithm="HS256",
    )
    for bad in (f"{header}.{forged.split('.')[1]}.{signature}", forged, token[:-2] + "xx"):
        response = http.get("/v1/access", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401, bad


def test_jwt_of_revoked_key_gets_401(http, customer_with_credits):
    token = _token(http, customer_with_credits.secret)
    services.revoke_api_key(customer_with_credits.api_key)
    assert http.get("/v1/access", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_customer_id_header_must_match_the_key(http, customer_with_credits, outsider):
    c = customer_with_credits
    ok = http.get(
        "/v1/access", headers={"x-api-key": c.secret, "x-customer-id": str(c.customer.public_id)}
    )
    assert ok.status_code == 200
    for claimed in (str(outsider.customer.public_id), "not-a-uuid"):
        response = http.get("/v1/access", headers={"x-api-key": c.secret, "x-customer-id": claimed})
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid API key or customer ID"}


def test_key_is_accepted_from_query_and_bearer(http, customer_with_credits):
    secret = customer_with_credits.secret
    assert http.get("/v1/access", params={"api_key": secret}).status_code == 200
    assert http.get("/v1/access", headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_deactivated_customer_gets_403(http, customer_with_credits):
    services.set_active(customer_with_credits.customer, False)
    response = access(http, customer_with_credits.secret)
    assert response.status_code == 403
    assert response.json() == {"detail": "Customer account is inactive"}


def test_key_limited_to_another_project_gets_403(http, customer_with_credits):
    c = customer_with_credits
    other = services.create_project(c.customer, "Other project")
    _, limited = services.create_api_key(c.customer, projects=[other])
    assert access(http, limited, project_id=other.public_id).status_code == 200
    response = access(http, limited, project_id=c.project.public_id)
    assert response.status_code == 403
    assert response.json() == {"detail": "API key is not allowed to use this project"}
    assert access(http, limited, config_id=c.config.public_id).status_code == 403


def test_zero_balance_gets_402(http, customer_without_credits):
    response = access(http, customer_without_credits.secret)
    assert response.status_code == 402
    assert response.json() == {"detail": "Insufficient credits"}


def test_unknown_config_gets_404(http, customer_with_credits):
    response = access(http, customer_with_credits.secret, config_id="cfg_doesnotexist")
    assert response.status_code == 404
    assert response.json() == {"detail": "Config not found"}


def test_another_tenants_config_gets_404(http, customer_with_credits, outsider):
    response = access(http, customer_with_credits.secret, config_id=outsider.config.public_id)
    assert response.status_code == 404
    assert response.json() == {"detail": "Config not found"}


def test_another_tenants_project_gets_404(http, customer_with_credits, outsider):
    response = access(http, customer_with_credits.secret, project_id=outsider.project.public_id)
    assert response.status_code == 404


def test_conditions_are_checked_in_the_matrix_order(http, customer_without_credits):
    """Inactive beats no-balance; an unknown config beats no-balance."""
    c = customer_without_credits
    assert access(http, c.secret, config_id="cfg_nope").status_code == 404
    services.set_active(c.customer, False)
    assert access(http, c.secret, config_id="cfg_nope").status_code == 403


def test_last_used_time_is_recorded(http, customer_with_credits):
    assert access(http, customer_with_credits.secret).status_code == 200
    assert ApiKey.objects.get(pk=customer_with_credits.api_key.pk).last_used_at is not None


def test_token_is_bound_to_its_project(http, customer_with_credits):
    c = customer_with_credits
    other = services.create_project(c.customer, "Other")
    token = _token(http, c.secret)
    auth = {"Authorization": f"Bearer {token}"}
    assert http.get("/v1/access", headers=auth).json()["project_id"] == c.project.public_id
    assert (
        http.get("/v1/access", headers=auth, params={"project_id": other.public_id}).status_code
        == 403
    )
    assert Project.objects.filter(customer=c.customer).count() == 2


def test_token_cannot_mint_another_token(http, customer_with_credits):
    token = _token(http, customer_with_credits.secret)
    response = http.post("/v1/auth/token", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_balance_spent_mid_way_flips_to_402(http, customer_with_credits):
    c = customer_with_credits
    billing.charge(
        c.customer, product=billing.Product.ANALYTICS, audio_seconds=100, idempotency_key="all"
    )
    assert access(http, c.secret).status_code == 402
