"""Server-Sent Events for the analytics surface: frames, heartbeats, the response."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from django.http import StreamingHttpResponse

from sessions_app.models import SessionEvent

HEARTBEAT_SECONDS = 10.0
# An opening comment flushes proxies and lets clients see the stream is live.
OPEN = ": stream open\n\n"
HEARTBEAT = ": keepalive\n\n"


def frame(event: SessionEvent) -> str:
    return (
        f"id: {event.seq}\nevent: {event.type}\ndata: {json.dumps(event.payload, default=str)}\n\n"
    )


def unnumbered(name: str, payload: dict[str, Any]) -> str:
    """For the rare event that belongs to no session's log (refused before it began)."""
    return f"event: {name}\ndata: {json.dumps(payload)}\n\n"


async def with_heartbeats(
    frames: AsyncIterator[str], every: float = HEARTBEAT_SECONDS
) -> AsyncIterator[str]:
    """Interleave keepalive comments whenever `frames` is quiet for `every` seconds."""
    yield OPEN
    iterator = frames.__aiter__()
    pending = asyncio.ensure_future(iterator.__anext__())
    try:
        while True:
            done, _ = await asyncio.wait({pending}, timeout=every)
            if not done:
                yield HEARTBEAT
                continue
            try:
                yield pending.result()
            except StopAsyncIteration:
                return
            pending = asyncio.ensure_future(iterator.__anext__())
    finally:
        # Stop the pending step first: an async generator cannot be closed while it runs.
        pending.cancel()
        await asyncio.gather(pending, return_exceptions=True)
        await _close(iterator)


async def _close(iterator) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose:
        with contextlib.suppress(RuntimeError, StopAsyncIteration):
            await aclose()


def event_stream(frames: AsyncIterator[str]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(with_heartbeats(frames), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: do not buffer
    return response
