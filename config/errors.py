"""JSON errors for API clients: never an HTML page, never a bare 500.

DRF's own exceptions keep their status and {"detail": ...} body. Anything else
becomes a 500 with a detail and a log line carrying the request id.
"""

import logging

from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError
from rest_framework.exceptions import NotAuthenticated
from rest_framework.response import Response
from rest_framework.views import exception_handler

from config.middleware import request_id_var
from config.paths import HTML_PREFIXES
from kernel.errors import AccessDenied, Denial

log = logging.getLogger("parlance.errors")


def denial_response(denied: AccessDenied) -> Response:
    """The analytics REST rendering of a row of the error matrix."""
    headers = (
        {"WWW-Authenticate": 'Bearer realm="parlance"'}
        if denied.rendering.http_status == 401
        else None
    )
    return Response({"detail": denied.detail}, status=denied.rendering.http_status, headers=headers)


def api_exception_handler(exc, context):
    if isinstance(exc, NotAuthenticated):
        exc = AccessDenied(Denial.NO_CREDENTIAL)
    if isinstance(exc, AccessDenied):
        return denial_response(exc)
    response = exception_handler(exc, context)
    if response is not None:
        return response
    log.exception("unhandled error in %s", context.get("view").__class__.__name__)
    return Response(
        {"detail": f"Internal server error (request id {request_id_var.get()})"}, status=500
    )


def _wants_html(request) -> bool:
    # Pages meant for people; everything else is an API path and answers in JSON.
    return request.path.startswith(HTML_PREFIXES)


def not_found(request, exception=None):
    if _wants_html(request):
        from django.views.defaults import page_not_found

        return page_not_found(request, exception)
    return JsonResponse({"detail": "Not found."}, status=404)


def server_error(request):
    log.error("server error on %s %s", request.method, request.path)
    if _wants_html(request):
        from django.views.defaults import server_error as html_server_error

        return html_server_error(request)
    return JsonResponse(
        {"detail": f"Internal server error (request id {request_id_var.get()})"}, status=500
    )


def bad_request(request, exception=None):
    if isinstance(exception, MultiPartParserError):
        return JsonResponse({"detail": f"Malformed multipart body: {exception}"}, status=400)
    return JsonResponse({"detail": "Bad request."}, status=400)
