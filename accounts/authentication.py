"""DRF authentication through the one credential resolver.

Kept apart from accounts.drf: DRF imports this class while its own views module
is still loading, so it must not import rest_framework.views.
"""

from rest_framework.authentication import BaseAuthentication

from accounts import credentials


class ApiKeyAuthentication(BaseAuthentication):
    """Sets request.user to the Customer and request.auth to the Principal.

    A missing or bad credential raises AccessDenied, which config.errors renders
    as the matrix's 401.
    """

    def authenticate(self, request):
        principal = credentials.resolve(credentials.extract(request.headers, request.query_params))
        return principal.customer, principal

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (with WWW-Authenticate) rather than 403.
        return 'Bearer realm="parlance"'
