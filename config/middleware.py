"""Request correlation: every request gets an id, echoed back and put on log lines."""

import contextvars
import logging
import re
import uuid

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _request_id(request) -> str:
    supplied = request.headers.get("X-Request-ID", "")
    return supplied if _CLIENT_ID.match(supplied) else uuid.uuid4().hex


class RequestIdMiddleware:
    """Sets X-Request-ID (the client's, if sane) for logs and the response."""

    async_capable = True
    sync_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        token = request_id_var.set(_request_id(request))
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id_var.get()
            return response
        finally:
            request_id_var.reset(token)

    async def __acall__(self, request):
        token = request_id_var.set(_request_id(request))
        try:
            response = await self.get_response(request)
            response["X-Request-ID"] = request_id_var.get()
            return response
        finally:
            request_id_var.reset(token)


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True
