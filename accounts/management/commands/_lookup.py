"""Lookups shared by the operator commands, failing with a CommandError."""

import json
import uuid

from django.core.management.base import CommandError

from accounts.models import Customer


def customer(public_id: str) -> Customer:
    try:
        return Customer.objects.get(public_id=uuid.UUID(public_id))
    except (ValueError, Customer.DoesNotExist):
        raise CommandError(f"no customer with id {public_id!r}") from None


def dumps(payload: dict) -> str:
    return json.dumps(payload, default=str)
