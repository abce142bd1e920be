"""DRF base view that runs the authorizer for one tenant."""

from rest_framework.views import APIView

from accounts import access
from billing.products import Product


class TenantAPIView(APIView):
    """A view acting for one tenant: `self.access` holds (customer, key, project, config).

    `product` set means the request starts billable work, so a zero balance is 402.
    The config comes from `config_id` (query or form field); without it, the default
    config of the key's project.
    """

    product: Product | None = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.access = access.authorize(
            request.auth,
            project_id=self.requested("project_id"),
            config_id=self.requested("config_id"),
            product=self.get_product(),
        )

    def get_product(self) -> Product | None:
        return self.product

    def requested(self, name: str) -> str | None:
        value = self.request.query_params.get(name)
        if value is None and self.request.method in ("POST", "PUT", "PATCH"):
            data = self.request.data
            value = data.get(name) if hasattr(data, "get") else None
        if value is None:
            return None
        return str(value).strip() or None
