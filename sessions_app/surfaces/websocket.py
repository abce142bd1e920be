"""What every WebSocket surface shares: authorizing the handshake and refusing it, and
`StreamingConsumer`, the base of a streaming surface's consumer."""

import asyncio
import json
import logging
import time
import uuid
from abc import ABCMeta, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from accounts.access import Access, authorize
from accounts.websocket import scope_query
from billing.products import Product
from kernel.errors import AccessDenied, Denial
from sessions_app.engine import get_scheduler
from sessions_app.failures import REFUSALS, Classified, classify

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


async def refuse(consumer: AsyncWebsocketConsumer, refusal: "Refusal") -> None:
    """Refuse a handshake: with the HTTP status where the server allows it and the
    surface wants it, else in band.

    Daphne can only answer a refused handshake with a bare 403, so there the
    connection is accepted, the surface's error message sent, and the socket closed
    (`close_delay` later, so that a client reading its buffer still gets the message).
    """
    payload = json.dumps(refusal.body).encode()
    status = refusal.status
    if status is not None and DENIAL_EXTENSION in consumer.scope.get("extensions", {}):
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
    if refusal.close_delay:
        await asyncio.sleep(refusal.close_delay)
    await consumer.close(code=refusal.close_code, reason=refusal.reason or None)


@dataclass(frozen=True)
class Refusal:
    """A refused handshake in a surface's format: the HTTP status (Denial Response
    extension; None: always in band, as browsers must see the close code), else the
    in-band message, then the close code and its reason phrase."""

    status: int | None
    body: dict[str, Any]
    close_code: int
    reason: str = ""
    close_delay: float = 0.0


class StreamingConsumer(AsyncWebsocketConsumer, metaclass=ABCMeta):
    """A client streams to the engine until it ends, fails or goes quiet.

    Subclasses set `product` and `log`, and implement `received` (the protocol),
    `render_refusal` and `render_failure` (their wire format), and optionally
    `idle_schedule` and `on_idle`. Once `ending` is set nothing more is processed, and
    only the closing message (eos, error) is sent.
    """

    product: ClassVar[Product]
    log: ClassVar[logging.Logger]

    async def connect(self) -> None:
        # One id per connection: in the logs, and the surface may show it (Bodhi's call_id).
        self.stream_id = str(uuid.uuid4())
        self.ending = False
        self.accepted = False
        self._watchdog: asyncio.Task | None = None
        try:
            self.access = await self.admit()
            get_scheduler().ensure_capacity()
        except REFUSALS as exc:
            refusal = self.render_refusal(classify(exc, self.log, "[%s] refused", self.stream_id))
            await refuse(self, refusal)
            return
        await self.accept()
        self.accepted = True
        self._last_message_at = time.monotonic()
        self.restart_idle_watch()

    async def disconnect(self, code: int) -> None:
        if self._watchdog:
            self._watchdog.cancel()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.ending:
            return
        if self.is_activity(text_data, bytes_data):
            self.note_activity()
        try:
            await self.received(text_data, bytes_data)
        except Exception as exc:
            failure = classify(exc, self.log, "[%s] stream failed", self.stream_id)
            if not self.ends_stream(failure) or self.start_ending():
                await self.render_failure(failure)

    def start_ending(self) -> bool:
        """The ending latch: True for the first caller only, who sends the last message."""
        if self.ending:
            return False
        self.ending = True
        return True

    def note_activity(self) -> None:
        """The idle schedule starts over (a message, or what the surface counts as one)."""
        self._last_message_at = time.monotonic()

    def restart_idle_watch(self) -> None:
        """(Re)start the watchdog on the current `idle_schedule()`."""
        if self._watchdog:
            self._watchdog.cancel()
            self._watchdog = None
        if self.idle_schedule() and not self.ending:
            self._watchdog = asyncio.create_task(self._watch_idle())

    # -- what a surface provides ---------------------------------------------------------
    async def admit(self) -> Access:
        """Authorize the handshake (a surface may check its own query first)."""
        return await authorize_scope(self.scope, self.product)

    def is_activity(self, text: str | None, data: bytes | None) -> bool:
        """Whether a client message restarts the idle schedule (every one, by default)."""
        return True

    @abstractmethod
    async def received(self, text: str | None, data: bytes | None) -> None:
        """The surface's protocol: one client message."""

    @abstractmethod
    def render_refusal(self, refused: Classified) -> Refusal:
        """A refused handshake in the surface's format."""

    def ends_stream(self, failure: Classified) -> bool:
        """Whether a failure ends the stream (every one, by default); when it does not,
        `render_failure` tells the client and the stream goes on."""
        return True

    @abstractmethod
    async def render_failure(self, failure: Classified) -> None:
        """Tell the client; when the failure ends the stream (it is already ending), close."""

    def idle_schedule(self) -> tuple[float, ...]:
        """Seconds without a client message after which `on_idle` is called, one call
        per entry, ascending; any message starts the schedule over. Empty: no watchdog.
        E.g. (15,) to hang up after 15 s, or (30, 45, 60) to warn twice first."""
        return ()

    async def on_idle(self, step: int, idle_for: float) -> None:
        """The client has been silent `idle_for` seconds (`idle_schedule()[step]`).
        The last step should end the stream: after it the watchdog stops. By default the
        earlier steps say nothing and the last one closes."""
        if step == len(self.idle_schedule()) - 1 and self.start_ending():
            await self.close()

    async def _watch_idle(self) -> None:
        schedule = self.idle_schedule()
        step, since = 0, self._last_message_at
        while not self.ending and step < len(schedule):
            await asyncio.sleep(max(0.0, since + schedule[step] - time.monotonic()))
            if self.ending:
                return
            if self._last_message_at != since:
                step, since = 0, self._last_message_at
                continue
            await self.on_idle(step, schedule[step])
            step += 1
