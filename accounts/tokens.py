"""Short-lived JWT access tokens for browsers, minted from an API key.

A token names the key it came from (by prefix), so revoking the key, expiring it
or deactivating the customer also ends its tokens on the very next request.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from django.conf import settings

ISSUER = "parlance"
ALGORITHM = "HS256"


@dataclass(frozen=True)
class TokenClaims:
    customer_id: str
    project_id: str
    key_prefix: str


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    ttl_seconds: int


class InvalidToken(Exception):
    pass


def looks_like_jwt(value: str) -> bool:
    return value.count(".") == 2 and value.startswith("ey")


def issue(*, customer_id: str, project_id: str, key_prefix: str) -> IssuedToken:
    ttl = settings.JWT_TTL_SECONDS
    now = datetime.now(UTC)
    expires_at = now + timedelta(seconds=ttl)
    payload = {
        "iss": ISSUER,
        "sub": customer_id,
        "prj": project_id,
        "akp": key_prefix,
        "iat": now,
        "exp": expires_at,
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(payload, settings.JWT_SIGNING_KEY, algorithm=ALGORITHM)
    return IssuedToken(token=token, expires_at=expires_at, ttl_seconds=ttl)


def decode(token: str) -> TokenClaims:
    try:
        payload = jwt.decode(
            token,
            settings.JWT_SIGNING_KEY,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "prj", "akp"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from None
    return TokenClaims(
        customer_id=payload["sub"], project_id=payload["prj"], key_prefix=payload["akp"]
    )
