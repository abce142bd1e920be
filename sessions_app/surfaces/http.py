"""What the HTTP surfaces share beyond DRF: authorizing async views.

Transcription takes seconds to minutes. Django runs sync views in one shared
thread under ASGI, so a sync view that transcribes would stall every other sync
request; the surfaces that do heavy work are async views that await the engine's
scheduler, and authorize through the same resolver and authorizer as DRF.
"""

from channels.db import database_sync_to_async

from accounts import credentials
from accounts.access import Access, authorize, authorize_tenant
from accounts.models import Customer
from billing.products import Product


def authorize_sync(
    request, product: Product | None, *, project_id: str | None = None, config_id: str | None = None
) -> Access:
    """For sync code already on the database thread (one hop instead of two)."""
    principal = credentials.resolve(credentials.extract(request.headers, request.GET))
    return authorize(principal, project_id=project_id, config_id=config_id, product=product)


def tenant_sync(request, product: Product | None = None) -> Customer:
    """The caller's customer, for requests about an existing session (see authorize_tenant)."""
    principal = credentials.resolve(credentials.extract(request.headers, request.GET))
    return authorize_tenant(principal, product=product)


async def authorize_request(
    request, product: Product | None, *, project_id: str | None = None, config_id: str | None = None
) -> Access:
    """Raises AccessDenied, for the surface to render in its own format."""
    return await database_sync_to_async(authorize_sync)(
        request, product, project_id=project_id, config_id=config_id
    )
