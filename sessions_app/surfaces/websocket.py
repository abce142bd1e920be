"""What every WebSocket surface shares: authorizing the handshake and refusing it."""

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from accounts.access import Access, authorize
from accounts.websocket import scope_query
from billing.products import Product
from kernel.errors import AccessDenied, Denial

# The ASGI WebSocket Denial Response extension: the server lets the application
# answer the handshake with any HTTP response. uvicorn offers it; daphne does not.
DENIAL_EXTENSION = "websocket.http.response"


@database_sync_to_async
def _authorize(principal, project_id, config_id, product) -> Access:
    return authorize(principal, project_id=project_id, config_id=config_id, product=product)


async def authorize_scope(scope, product: Product) -> Access:
    """Run the authorizer for a handshake the CredentialMiddleware has resolved."""
    if scope.get("denial"):
        raise scope["denial"]
    if scope.get("principal") is None:
        raise AccessDenied(Denial.NO_CREDENTIAL)
    query = scope_query(scope)
    return await _authorize(
        scope["principal"], query.get("project_id"), query.get("config_id"), product
    )


async def refuse(
    consumer: AsyncWebsocketConsumer, *, status: int, body: dict[str, Any], close_code: int
) -> None:
    """Refuse a handshake: with the HTTP status where the server allows it, else in band.

    Daphne can only answer a refused handshake with a bare 403, so there the
    connection is accepted, the surface's error message sent, and the socket closed.
    """
    payload = json.dumps(body).encode()
    if DENIAL_EXTENSION in consumer.scope.get("extensions", {}):
        await consumer.base_send(
            {
                "type": "websocket.http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await consumer.base_send({"type": "websocket.http.response.body", "body": payload})
        return
    await consumer.accept()
    await consumer.send(text_data=payload.decode())
    await consumer.close(code=close_code)
