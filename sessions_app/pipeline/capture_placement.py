"""Where a live capture is processed: leases, hand-over to live workers, takeover.

The analytics views only say what happened — a chunk arrived, a control came, a
consumer is waiting — and this module decides what that means for the capture's
processor (capture_processor.CaptureProcessor): start it here, hand it to a live
worker (LIVE_WORKERS=true), or leave it to the process already holding its lease,
and wake it. A holder that died loses its lease after LEASE_SECONDS, and the next
process to look takes over, replaying the stored chunks.
"""

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import AsyncIterator

from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.conf import settings

from sessions_app.pipeline.capture_processor import (
    CaptureProcessor,
    consumer_topic,
    wake_processor,
)
from sessions_app.services import wakeups
from sessions_app.services.leases import Lease

log = logging.getLogger("parlance.live")

LEASE_SECONDS = 10
# Where servers hand live sessions to `manage.py live_worker` processes (LIVE_WORKERS).
WORK_CHANNEL = "live-work"
HAND_OVER_RECHECK = 1.0
_running: dict[str, asyncio.Task] = {}
_checked: dict[str, float] = {}  # session -> when this process last checked its worker


# -- what the views say ---------------------------------------------------------------
async def chunk_arrived(public_id: str) -> None:
    await ensure_running(public_id)
    await wake_processor(public_id)


async def control_received(public_id: str) -> None:
    """Finalize or cancel: the processor acts on it (and ends the session's stream)."""
    await ensure_running(public_id)
    await wake_processor(public_id)


async def consumer_waiting(public_id: str) -> None:
    """An SSE consumer waits for events: until the session ends, keep a processor alive
    (taking over from a crashed one); it also records expiry, the event the stream ends on."""
    await ensure_running(public_id)


@contextlib.asynccontextmanager
async def new_events(public_id: str) -> AsyncIterator[wakeups.Bell]:
    """A bell the capture's processor rings whenever it logs events."""
    async with wakeups.listening(consumer_topic(public_id)) as bell:
        yield bell


# -- placement --------------------------------------------------------------------------
def _owner_lease(public_id: str) -> Lease:
    return Lease(f"live-owner:{public_id}", LEASE_SECONDS)


async def ensure_running(public_id: str) -> None:
    """Make sure some process is processing the session: with LIVE_WORKERS a live
    worker (the one holding its lease, else the next to take the work), else this one."""
    if not settings.LIVE_WORKERS:
        await start_here(public_id)
        return
    # Chunks arrive ten times a second; once a second is soon enough to notice that a
    # worker is gone (its lease outlives it by seconds anyway).
    now = time.monotonic()
    if now - _checked.get(public_id, -HAND_OVER_RECHECK) < HAND_OVER_RECHECK:
        return
    if len(_checked) > 10_000:
        _checked.clear()
    _checked[public_id] = now
    if not await asyncio.to_thread(_owner_lease(public_id).taken):
        try:
            await get_channel_layer().send(
                WORK_CHANNEL, {"type": "live.process", "session_id": public_id}
            )
        except ChannelFull:
            # The workers' next scan of open sessions finds it all the same.
            log.warning("[%s] live workers are behind; the session waits for a scan", public_id)


def running_here() -> list[asyncio.Task]:
    return [task for task in _running.values() if not task.done()]


async def start_here(public_id: str) -> None:
    """Process the session in this process, unless this or another already does."""
    task = _running.get(public_id)
    if task is not None and not task.done():
        return
    lease = _owner_lease(public_id)
    if not await asyncio.to_thread(lease.acquire):
        return  # another process holds it; a crashed holder's lease runs out soon
    # A fresh context: the task outlives the request that started it, and must not
    # inherit that request's sync-thread executor, which closes when it ends.
    _running[public_id] = asyncio.create_task(
        _process(public_id, lease), context=contextvars.Context()
    )


async def _process(public_id: str, lease: Lease) -> None:
    try:
        await CaptureProcessor(public_id, lease).run()
    finally:
        _running.pop(public_id, None)
