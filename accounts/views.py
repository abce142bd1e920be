"""Account endpoints: mint browser tokens, check what a credential may do."""

from rest_framework import serializers
from rest_framework.response import Response

from accounts import tokens
from accounts.drf import TenantAPIView
from billing.products import Product
from kernel.errors import AccessDenied, Denial


class TokenView(TenantAPIView):
    """POST /v1/auth/token: an API key buys a short-lived JWT bound to one project.

    Browsers use it where they cannot keep a key secret (query string, WebSocket).
    """

    def post(self, request):
        if request.auth.token_project_id is not None:
            raise AccessDenied(
                Denial.BAD_CREDENTIAL, "An access token cannot mint another; use an API key"
            )
        issued = tokens.issue(
            customer_id=str(self.access.customer.public_id),
            project_id=self.access.project.public_id,
            key_prefix=self.access.key.prefix,
        )
        return Response(
            {
                "access_token": issued.token,
                "token_type": "Bearer",
                "expires_in": issued.ttl_seconds,
                "expires_at": issued.expires_at.isoformat().replace("+00:00", "Z"),
                "customer_id": str(self.access.customer.public_id),
                "project_id": self.access.project.public_id,
            }
        )


class _AccessQuery(serializers.Serializer):
    product = serializers.ChoiceField(
        choices=[p.value for p in Product], default=Product.ANALYTICS.value
    )


class AccessCheckView(TenantAPIView):
    """GET /v1/access: would a session started now, with these credentials, be accepted?

    200 with the tenant it resolves to, or exactly the error the session would get
    (401/402/403/404). Integrators call it to check their setup.
    """

    def get_product(self) -> Product:
        query = _AccessQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return Product(query.validated_data["product"])

    def get(self, request):
        access = self.access
        return Response(
            {
                "customer_id": str(access.customer.public_id),
                "customer_name": access.customer.name,
                "plan": access.customer.plan.code,
                "project_id": access.project.public_id,
                "config_id": access.config.public_id,
                "product": self.get_product().value,
                "balance": str(access.customer.credit_account.balance),
                "credit_unit": "credit (1 credit = 1 second of processed audio)",
            }
        )
