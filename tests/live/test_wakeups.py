"""Wake-ups between a chunk upload and its processor, an event and its SSE consumer:
in process on the embedded default, through Redis pub/sub with REDIS_URL."""

import asyncio
import os
import socket

import pytest
from redis import asyncio as aioredis

from sessions_app.services import wakeups

REDIS_URL = os.environ.get("REDIS_URL", "")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="Redis pub/sub needs REDIS_URL")


@pytest.fixture(params=["in-process", pytest.param("redis", marks=needs_redis)])
def hub(request, settings) -> str:
    settings.REDIS_URL = REDIS_URL if request.param == "redis" else ""
    return request.param


async def test_a_ring_wakes_the_listener_of_its_topic_only(hub):
    async with wakeups.listening("s1") as first, wakeups.listening("s2") as second:
        await wakeups.ring("s1")
        assert await first.wait(2.0)
        assert not await second.wait(0.2)


async def test_a_ring_between_two_waits_is_not_missed_and_counts_once(hub):
    async with wakeups.listening("s1") as bell:
        await wakeups.ring("s1")
        await wakeups.ring("s1")
        await asyncio.sleep(0.2)  # the listener is busy elsewhere when the rings come
        assert await bell.wait(0.01)
        assert not await bell.wait(0.2)


async def test_every_listener_of_a_topic_is_woken(hub):
    async with wakeups.listening("s1") as one, wakeups.listening("s1") as two:
        await wakeups.ring("s1")
        assert await one.wait(2.0)
        assert await two.wait(2.0)


async def test_a_ring_nobody_listens_to_is_dropped(hub):
    await wakeups.ring("s1")
    async with wakeups.listening("s1") as bell:
        assert not await bell.wait(0.2)


@needs_redis
async def test_a_ring_from_another_process_arrives_through_redis(settings):
    settings.REDIS_URL = REDIS_URL
    other = aioredis.Redis.from_url(REDIS_URL)  # what another server's ring sends
    try:
        async with wakeups.listening("cross") as bell:
            assert await other.publish(wakeups.PREFIX + "cross", b"") == 1
            assert await bell.wait(2.0)
    finally:
        await other.aclose()


@needs_redis
async def test_the_last_listener_leaving_unsubscribes_and_stops_the_reader(settings):
    settings.REDIS_URL = REDIS_URL
    admin = aioredis.Redis.from_url(REDIS_URL)
    channel = wakeups.PREFIX + "leaving"
    try:
        async with wakeups.listening("leaving"):
            assert dict(await admin.pubsub_numsub(channel))[channel.encode()] == 1
        hub = wakeups._hub()
        await asyncio.wait_for(hub.reader, wakeups.READ_SECONDS + 2)
        assert dict(await admin.pubsub_numsub(channel))[channel.encode()] == 0
    finally:
        await admin.aclose()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_without_redis_a_ring_is_logged_and_the_listener_falls_back_to_its_timeout(
    settings, caplog
):
    settings.REDIS_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    async with wakeups.listening("down") as bell:
        await wakeups.ring("down")  # the chunk that rang is still acknowledged
        assert not await bell.wait(0.2)
    assert "wake-up for down not sent: Redis unavailable" in caplog.text
    assert "wake-ups for down not subscribed" in caplog.text


@needs_redis
async def test_a_subscriber_connection_killed_by_redis_reconnects_and_resubscribes(settings):
    settings.REDIS_URL = REDIS_URL
    admin = aioredis.Redis.from_url(REDIS_URL)
    mine = f"name=parlance-wakeups-{os.getpid()} "
    try:
        async with wakeups.listening("killed") as bell:
            clients = (await admin.execute_command("CLIENT", "LIST", "TYPE", "pubsub")).decode()
            (client_id,) = [
                line.split()[0].removeprefix("id=") for line in clients.splitlines() if mine in line
            ]
            assert await admin.execute_command("CLIENT", "KILL", "ID", client_id) == 1
            # Rings until one gets through: the reader notices, reconnects, resubscribes.
            async with asyncio.timeout(10):
                while not await bell.wait(0.2):
                    await wakeups.ring("killed")
    finally:
        await admin.aclose()
