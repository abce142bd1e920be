"""The one credential resolver, shared by DRF (accounts.drf) and Channels (accounts.websocket).

Where a credential may come from, in the order they are tried:
  1. `X-API-Key` header
  2. `api_key` query parameter (browsers, EventSource)
  3. `Authorization: Bearer <API key or JWT>` header
  4. `authorization=Bearer <JWT>` query parameter (NextEVI's browser SDK)
An `X-Customer-ID` header (or `customer_id` query parameter), when sent, must name
the key's customer: Bodhi clients always send one.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts import keys, tokens
from accounts.key_lookup import load_key
from accounts.models import ApiKey, Customer
from kernel.errors import AccessDenied, Denial


@dataclass(frozen=True)
class Credential:
    secret: str
    claimed_customer_id: str | None = None


@dataclass(frozen=True)
class Principal:
    """Who is calling: a live key of an existing customer (active or not, see access)."""

    key: ApiKey
    customer: Customer
    # Set for JWTs, which are bound to one project.
    token_project_id: str | None = None


def _bearer(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def extract(headers: Mapping[str, str], query: Mapping[str, str]) -> Credential | None:
    """Pick the credential out of a request. `headers` must be case-insensitive or lowercased."""
    candidates = (
        headers.get("x-api-key"),
        query.get("api_key"),
        _bearer(headers.get("authorization")),
        _bearer(query.get("authorization")),
    )
    secret = next((c.strip() for c in candidates if c and c.strip()), None)
    if secret is None:
        return None
    claimed = headers.get("x-customer-id") or query.get("customer_id")
    return Credential(secret=secret, claimed_customer_id=claimed.strip() if claimed else None)


def _load_key(prefix: str) -> ApiKey:
    # One query: the key, whether it is limited to projects, its customer, the plan
    # and the balance the authorizer reads next.
    key = load_key(prefix)
    if key is None:
        raise AccessDenied(Denial.BAD_CREDENTIAL)
    return key


def _touch(key: ApiKey) -> None:
    now = timezone.now()
    resolution = timedelta(seconds=settings.API_KEY_LAST_USED_RESOLUTION_SECONDS)
    if key.last_used_at is None or now - key.last_used_at >= resolution:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now


def _same_customer(claimed: str, customer: Customer) -> bool:
    try:
        return uuid.UUID(claimed) == customer.public_id
    except ValueError:
        return False


def resolve(credential: Credential | None) -> Principal:
    """Turn a credential into a Principal, or raise AccessDenied (401 rows of the matrix)."""
    if credential is None:
        raise AccessDenied(Denial.NO_CREDENTIAL)
    secret = credential.secret
    token_project_id = None
    if tokens.looks_like_jwt(secret):
        try:
            claims = tokens.decode(secret)
        except tokens.InvalidToken:
            raise AccessDenied(Denial.BAD_CREDENTIAL) from None
        key = _load_key(claims.key_prefix)
        if str(key.customer.public_id) != claims.customer_id:
            raise AccessDenied(Denial.BAD_CREDENTIAL)
        token_project_id = claims.project_id
    else:
        # Malformed keys never reach the database.
        if not keys.is_well_formed(secret):
            raise AccessDenied(Denial.BAD_CREDENTIAL)
        key = _load_key(keys.lookup_prefix(secret))
        if not keys.matches(secret, key.key_hash):
            raise AccessDenied(Denial.BAD_CREDENTIAL)
    if key.is_revoked or key.is_expired():
        raise AccessDenied(Denial.BAD_CREDENTIAL)
    if credential.claimed_customer_id and not _same_customer(
        credential.claimed_customer_id, key.customer
    ):
        raise AccessDenied(Denial.BAD_CREDENTIAL, "Invalid API key or customer ID")
    _touch(key)
    return Principal(key=key, customer=key.customer, token_project_id=token_project_id)
