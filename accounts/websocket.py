"""Channels adapter for the credential resolver.

Fills scope["principal"] (or scope["denial"] with the AccessDenied) before the
consumer runs; consumers authorize and render refusals in their own wire format,
since only they know it (Bodhi error JSON, NextEVI error + close code).
"""

from urllib.parse import parse_qsl

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware

from accounts import credentials
from kernel.errors import AccessDenied


def scope_headers(scope) -> dict[str, str]:
    return {
        name.decode("latin-1").lower(): value.decode("latin-1")
        for name, value in scope.get("headers", [])
    }


def scope_query(scope) -> dict[str, str]:
    return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))


@database_sync_to_async
def _resolve(headers: dict[str, str], query: dict[str, str]) -> credentials.Principal:
    return credentials.resolve(credentials.extract(headers, query))


class CredentialMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        scope = dict(scope, principal=None, denial=None)
        try:
            scope["principal"] = await _resolve(scope_headers(scope), scope_query(scope))
        except AccessDenied as denied:
            scope["denial"] = denied
        return await super().__call__(scope, receive, send)
