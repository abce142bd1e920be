"""Public identifiers: a readable type prefix and random base62, never a row id."""

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def random_base62(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def project_id() -> str:
    return f"proj_{random_base62(20)}"


def config_id() -> str:
    return f"cfg_{random_base62(20)}"
