"""API key secrets: `oak_` + 40 base62 characters.

Stored as SHA-256 (or HMAC-SHA-256 with API_KEY_PEPPER), looked up by the indexed
first 12 characters, compared in constant time.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass

from django.conf import settings

from accounts.ids import random_base62

KEY_PREFIX = "oak_"
BODY_LENGTH = 40
LOOKUP_LENGTH = len(KEY_PREFIX) + 8
_WELL_FORMED = re.compile(rf"^{KEY_PREFIX}[A-Za-z0-9]{{{BODY_LENGTH}}}$")


@dataclass(frozen=True)
class NewKey:
    secret: str
    prefix: str
    key_hash: str


def generate() -> NewKey:
    secret = KEY_PREFIX + random_base62(BODY_LENGTH)
    return NewKey(secret=secret, prefix=lookup_prefix(secret), key_hash=digest(secret))


def is_well_formed(secret: str) -> bool:
    return bool(_WELL_FORMED.match(secret))


def lookup_prefix(secret: str) -> str:
    return secret[:LOOKUP_LENGTH]


def digest(secret: str) -> str:
    pepper = settings.API_KEY_PEPPER
    if pepper:
        return hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).hexdigest()
    return hashlib.sha256(secret.encode()).hexdigest()


def matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_hash)
