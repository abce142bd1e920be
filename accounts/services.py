"""Provisioning: customers, projects with their default config, API keys."""

import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import keys
from accounts.models import ApiKey, Config, Customer, Project
from billing import services as billing
from billing.plans import get_plan


@dataclass(frozen=True)
class Provisioned:
    customer: Customer
    project: Project
    config: Config
    api_key: ApiKey
    secret: str


def create_project(customer: Customer, name: str = "Default project") -> Project:
    """A project always comes with its default config."""
    with transaction.atomic():
        project = Project.objects.create(customer=customer, name=name)
        Config.objects.create(project=project, name="default", is_default=True)
    return project


def create_api_key(
    customer: Customer, *, name: str = "", projects: list[Project] | None = None, expires_at=None
) -> tuple[ApiKey, str]:
    """Returns the key and its secret, which is never stored and cannot be shown again."""
    for _ in range(5):
        new = keys.generate()
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    customer=customer,
                    name=name,
                    prefix=new.prefix,
                    key_hash=new.key_hash,
                    expires_at=expires_at,
                )
                if projects:
                    key.projects.set(projects)
            return key, new.secret
        except IntegrityError:
            continue  # prefix collision, astronomically rare: draw again
    raise RuntimeError("could not allocate a unique API key prefix")


def revoke_api_key(key: ApiKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])


def provision_customer(name: str, *, plan_code: str = "free", credits=0) -> Provisioned:
    with transaction.atomic():
        customer = Customer.objects.create(name=name, plan=get_plan(plan_code))
        billing.ensure_account(customer)
        project = create_project(customer)
        key, secret = create_api_key(customer, name="initial key")
        if credits:
            billing.grant(
                customer,
                credits,
                reason="initial credits",
                idempotency_key=f"provision-{uuid.uuid4()}",
            )
    config = project.configs.get(is_default=True)
    return Provisioned(
        customer=customer, project=project, config=config, api_key=key, secret=secret
    )


def set_active(customer: Customer, active: bool) -> None:
    customer.is_active = active
    customer.save(update_fields=["is_active"])
