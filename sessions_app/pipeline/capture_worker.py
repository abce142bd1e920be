"""A live worker: runs live sessions' processors for the servers (LIVE_WORKERS=true).

Servers hand a session over on the channel layer (capture_placement); a worker takes
each hand-over and starts the session's processor unless another process holds its
lease. Hand-overs can be lost (no worker up, a full channel, a worker that died), so
every worker also scans the open sessions now and then and takes over any nobody
processes: a restarted worker picks up where the last one stopped, replaying the
stored chunks like any processor that takes over (see capture_processor).
"""

import asyncio
import contextlib
import logging

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from sessions_app.models import LiveCapture, Session
from sessions_app.pipeline.capture_placement import WORK_CHANNEL, running_here, start_here
from sessions_app.services import captures

log = logging.getLogger("parlance.live")

SCAN_SECONDS = 5.0
OPEN = [*captures.INGESTING, Session.Status.FINALIZING]


def _open_sessions() -> list[str]:
    return list(
        LiveCapture.objects.filter(session__status__in=OPEN).values_list("public_id", flat=True)
    )


async def _take_hand_overs() -> None:
    layer = get_channel_layer()
    while True:
        message = await layer.receive(WORK_CHANNEL)
        if message.get("type") == "live.process" and message.get("session_id"):
            await start_here(str(message["session_id"]))


async def _scan() -> None:
    while True:
        for public_id in await database_sync_to_async(_open_sessions)():
            await start_here(public_id)
        await asyncio.sleep(SCAN_SECONDS)


async def serve(stop: asyncio.Event) -> None:
    """Process live sessions until `stop` is set, then stop their processors: their
    leases are released, and another worker continues them from what is stored."""
    tasks = [asyncio.create_task(_take_hand_overs()), asyncio.create_task(_scan())]
    log.info("live worker ready")
    try:
        await stop.wait()
    finally:
        processors = running_here()
        for task in [*tasks, *processors]:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, *processors, return_exceptions=True)
        log.info("live worker stopped (%d sessions handed back)", len(processors))
