"""Refuse oversized uploads before Django reads them.

Django's ASGI handler spools a whole request body to disk before any view runs,
so a view can only refuse a 5 GB upload after receiving it. This middleware
answers 400 at once when Content-Length is over the limit and, for chunked
uploads without one, as soon as the bytes received pass it, telling Django the
client went away so that nothing more is read. Memory stays bounded either way.
"""

import json

from django.conf import settings

from config.paths import LIMITED_PATHS

# Multipart framing and form fields around the file.
_MULTIPART_ALLOWANCE = 1024 * 1024


class UploadSizeLimit:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT"):
            return await self.app(scope, receive, send)
        render = next((r for prefix, r in LIMITED_PATHS if scope["path"].startswith(prefix)), None)
        if render is None:
            return await self.app(scope, receive, send)
        limit_mb = settings.MAX_FILE_SIZE_MB
        limit = limit_mb * 1024 * 1024 + _MULTIPART_ALLOWANCE
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await self._refuse(send, render(limit_mb))

        received = 0
        refused = False

        async def counting_receive():
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await self._refuse(send, render(limit_mb))
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if not refused:  # Django's own answer, after we refused, goes nowhere
                await send(message)

        return await self.app(scope, counting_receive, guarded_send)

    @staticmethod
    async def _refuse(send, body: dict) -> None:
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
