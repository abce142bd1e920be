"""The analytics surface's error format: {"detail": "..."} with seed 000's statuses."""

from django.http import JsonResponse

from accounts.errors import AccessDenied


def detail(status: int, message: str) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)


def method_not_allowed(request, allowed: str = "POST") -> JsonResponse:
    response = detail(405, f'Method "{request.method}" not allowed.')
    response["Allow"] = allowed
    return response


def denied(exc: AccessDenied) -> JsonResponse:
    response = detail(exc.rendering.http_status, exc.detail)
    if exc.rendering.http_status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="parlance"'
    return response
