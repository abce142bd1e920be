"""The analytics surface's error format: {"detail": "..."} with seed 000's statuses."""

import functools

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from kernel.errors import AccessDenied


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


LIVE_DISABLED = "Live streaming is disabled on this server (ENABLE_LIVE_STREAMING=false)"


def endpoint(*methods: str, live: bool = False):
    """An async analytics view: no CSRF (keys, not cookies), a JSON 405 for other
    methods, and for live capture a 404 while ENABLE_LIVE_STREAMING is false."""

    def decorate(view):
        @functools.wraps(view)
        async def guarded(request, *args, **kwargs):
            if live and not settings.ENABLE_LIVE_STREAMING:
                return detail(404, LIVE_DISABLED)
            if methods and request.method not in methods:
                return method_not_allowed(request, ", ".join(methods))
            return await view(request, *args, **kwargs)

        return csrf_exempt(guarded)

    return decorate
