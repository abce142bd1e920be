"""The one authorizer: applies the error matrix's conditions in their order.

credential (accounts.credentials) → customer active → project allowed → config
exists → balance. Every surface calls `authorize` and renders the AccessDenied it
may raise through kernel.errors.MATRIX.
"""

from dataclasses import dataclass

from accounts.config_lookup import load_default_config
from accounts.credentials import Principal
from accounts.models import ApiKey, Config, Customer, Project
from billing import services as billing
from billing.products import Product
from kernel.errors import AccessDenied, Denial


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


def _is_restricted(key: ApiKey) -> bool:
    # Annotated by the resolver's single query; computed for keys loaded elsewhere.
    restricted = getattr(key, "restricted", None)
    return key.projects.exists() if restricted is None else restricted


def _is_allowed(key: ApiKey, project: Project) -> bool:
    return not _is_restricted(key) or key.projects.filter(pk=project.pk).exists()


def _default_config(key: ApiKey) -> Config:
    config = load_default_config(key, _is_restricted(key))
    if config is None:
        raise AccessDenied(Denial.CONFIG_NOT_FOUND, "No default config: pass config_id")
    return config


def authorize_tenant(principal: Principal, *, product: Product | None = None) -> Customer:
    """The rows of the matrix that do not depend on a project: for requests about a
    session that exists, whose project and config were settled when it started."""
    customer = principal.customer
    if not customer.is_active:
        raise AccessDenied(Denial.CUSTOMER_INACTIVE)
    if product is not None:
        billing.authorize(customer, product)
    return customer


def authorize(
    principal: Principal,
    *,
    project_id: str | None = None,
    config_id: str | None = None,
    product: Product | None = None,
) -> Access:
    customer, key = principal.customer, principal.key
    authorize_tenant(principal)  # the balance is checked last, after project and config

    if principal.token_project_id:
        if project_id and project_id != principal.token_project_id:
            raise AccessDenied(Denial.PROJECT_FORBIDDEN, "Access token is bound to another project")
        project_id = principal.token_project_id

    if project_id:
        project = Project.objects.filter(public_id=project_id, customer=customer).first()
        if project is None:
            raise AccessDenied(Denial.PROJECT_NOT_FOUND)
        if not _is_allowed(key, project):
            raise AccessDenied(Denial.PROJECT_FORBIDDEN)
        configs = Config.objects.filter(project=project)
        config = (
            configs.filter(public_id=config_id).first()
            if config_id
            else configs.filter(is_default=True).first()
        )
        if config is None:
            raise AccessDenied(
                Denial.CONFIG_NOT_FOUND, None if config_id else "Project has no default config"
            )
        config.project = project
    elif config_id:
        # Another tenant's config is indistinguishable from an unknown one.
        config = (
            Config.objects.select_related("project")
            .filter(public_id=config_id, project__customer=customer)
            .first()
        )
        if config is None:
            raise AccessDenied(Denial.CONFIG_NOT_FOUND)
        if not _is_allowed(key, config.project):
            raise AccessDenied(Denial.PROJECT_FORBIDDEN)
    else:
        config = _default_config(key)

    if product is not None:
        billing.authorize(customer, product)
    return Access(principal=principal, project=config.project, config=config)
