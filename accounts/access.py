"""The one authorizer: applies the error matrix's conditions in their order.

credential (accounts.credentials) → customer active → project allowed → config
exists → balance. Every surface calls `authorize` and renders the AccessDenied it
may raise through accounts.errors.MATRIX.
"""

from dataclasses import dataclass

from accounts.credentials import Principal
from accounts.errors import AccessDenied, Denial
from accounts.models import ApiKey, Config, Customer, Project
from billing import services as billing
from billing.products import Product


@dataclass(frozen=True)
class Access:
    principal: Principal
    project: Project
    config: Config

    @property
    def customer(self) -> Customer:
        return self.principal.customer

    @property
    def key(self) -> ApiKey:
        return self.principal.key


def _allowed_project_ids(key: ApiKey) -> set[int]:
    return set(key.projects.values_list("id", flat=True))


def _default_config(customer: Customer, allowed: set[int]) -> Config:
    configs = Config.objects.select_related("project").filter(
        project__customer=customer, is_default=True
    )
    if allowed:
        configs = configs.filter(project_id__in=allowed)
    config = configs.order_by("project__created_at", "project_id").first()
    if config is None:
        raise AccessDenied(Denial.CONFIG_NOT_FOUND, "No default config: pass config_id")
    return config


def authorize(
    principal: Principal,
    *,
    project_id: str | None = None,
    config_id: str | None = None,
    product: Product | None = None,
) -> Access:
    customer = principal.customer
    if not customer.is_active:
        raise AccessDenied(Denial.CUSTOMER_INACTIVE)

    if principal.token_project_id:
        if project_id and project_id != principal.token_project_id:
            raise AccessDenied(Denial.PROJECT_FORBIDDEN, "Access token is bound to another project")
        project_id = principal.token_project_id
    allowed = _allowed_project_ids(principal.key)

    config = None
    if config_id:
        # Another tenant's config is indistinguishable from an unknown one.
        config = (
            Config.objects.select_related("project")
            .filter(public_id=config_id, project__customer=customer)
            .first()
        )
    if project_id:
        project = Project.objects.filter(public_id=project_id, customer=customer).first()
        if project is None:
            raise AccessDenied(Denial.PROJECT_NOT_FOUND)
    elif config is not None:
        project = config.project
    elif config_id:
        raise AccessDenied(Denial.CONFIG_NOT_FOUND)
    else:
        config = _default_config(customer, allowed)
        project = config.project

    if allowed and project.id not in allowed:
        raise AccessDenied(Denial.PROJECT_FORBIDDEN)

    if config is None or config.project_id != project.id:
        if config_id:
            raise AccessDenied(Denial.CONFIG_NOT_FOUND)
        config = Config.objects.filter(project=project, is_default=True).first()
        if config is None:
            raise AccessDenied(
                Denial.CONFIG_NOT_FOUND, "Project has no default config: pass config_id"
            )
        config.project = project

    if product is not None:
        billing.authorize(customer, product)
    return Access(principal=principal, project=project, config=config)
