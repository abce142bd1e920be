"""Wake-ups between processes: `ring(topic)` wakes whoever is `listening(topic)`.

Every accepted chunk rings its session's processor, and every new event rings its
SSE consumer, so a ring sits on the chunk acknowledgement's path. Through the channel
layer a group send is four Redis round trips and a Lua script; here it is one
PUBLISH. With REDIS_URL each process and event loop keeps one subscriber connection
and a reader task that runs while anything listens. Without it (the embedded default,
one process), rings go straight to the listeners in this process.

A wake-up only says "look again": listeners always wait with a timeout and re-read
the database, so a ring lost while Redis reconnects costs latency, never data. A
bell remembers a ring that comes between two waits, so a listener that is busy when
its chunk arrives does not miss it. Pub/sub channels are not scoped by Redis database;
topics carry random session ids, and a stray ring only costs a spurious look.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import weakref
from collections.abc import AsyncIterator
from typing import Protocol

from django.conf import settings
from redis import asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("parlance.wakeups")

PREFIX = "parlance:wake:"
# How long `listening` waits for Redis to confirm a subscription before going on
# without it (the listener's own timeout then bounds a missed ring).
SUBSCRIBE_SECONDS = 2.0
READ_SECONDS = 1.0


class Bell:
    """One listener's doorbell: rung from any task of its event loop."""

    def __init__(self) -> None:
        self._rung = asyncio.Event()

    def ring(self) -> None:
        self._rung.set()

    async def wait(self, timeout: float) -> bool:
        """Until rung (then True) or `timeout` (False); a ring is consumed once."""
        try:
            await asyncio.wait_for(self._rung.wait(), timeout)
        except TimeoutError:
            return False
        self._rung.clear()
        return True


class _Hub(Protocol):
    async def ring(self, topic: str) -> None: ...

    async def add(self, topic: str, bell: Bell) -> None: ...

    async def remove(self, topic: str, bell: Bell) -> None: ...


class _LocalHub:
    """One process, one event loop: a ring is a dictionary lookup."""

    def __init__(self) -> None:
        self.bells: dict[str, set[Bell]] = {}

    def deliver(self, topic: str) -> None:
        for bell in self.bells.get(topic, ()):
            bell.ring()

    async def ring(self, topic: str) -> None:
        self.deliver(topic)

    async def add(self, topic: str, bell: Bell) -> None:
        self.bells.setdefault(topic, set()).add(bell)

    async def remove(self, topic: str, bell: Bell) -> None:
        listeners = self.bells.get(topic)
        if listeners is not None:
            listeners.discard(bell)
            if not listeners:
                del self.bells[topic]


class _RedisHub(_LocalHub):
    """Rings through Redis pub/sub; delivers what arrives to this process's bells."""

    def __init__(self, url: str) -> None:
        super().__init__()
        # Publishing has its own pool: a ring never waits behind a subscription change.
        self.publisher = aioredis.Redis.from_url(url)
        # Named for CLIENT LIST: which process a subscriber connection belongs to.
        name = f"parlance-wakeups-{os.getpid()}"
        self.pubsub = aioredis.Redis.from_url(url, client_name=name).pubsub()
        self.lock = asyncio.Lock()  # orders subscribe/unsubscribe and the reader's start
        self.confirmed: dict[str, asyncio.Event] = {}
        self.reader: asyncio.Task | None = None

    async def ring(self, topic: str) -> None:
        try:
            await self.publisher.publish(PREFIX + topic, b"")
        except RedisError:
            # The listener's timeout covers it; the request that rang must not fail.
            log.warning("wake-up for %s not sent: Redis unavailable", topic, exc_info=True)

    async def add(self, topic: str, bell: Bell) -> None:
        async with self.lock:
            if topic not in self.bells:
                await self._subscribe(topic)
            await super().add(topic, bell)
            confirmed = self.confirmed.get(topic)
        if confirmed is not None:
            # A ring published before Redis has the subscription would be lost: wait for it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(confirmed.wait(), SUBSCRIBE_SECONDS)

    async def _subscribe(self, topic: str) -> None:
        # Before the command: the reader may see its confirmation while it is being sent.
        self.confirmed[topic] = asyncio.Event()
        try:
            await self.pubsub.subscribe(PREFIX + topic)
        except RedisError:
            log.warning("wake-ups for %s not subscribed: Redis unavailable", topic)
            del self.confirmed[topic]  # nothing to wait for: listeners poll
            return
        if self.reader is None or self.reader.done():
            self.reader = asyncio.create_task(self._read(), name="wakeups-reader")

    async def remove(self, topic: str, bell: Bell) -> None:
        async with self.lock:
            await super().remove(topic, bell)
            if topic in self.bells:
                return
            self.confirmed.pop(topic, None)
            with contextlib.suppress(RedisError):
                await self.pubsub.unsubscribe(PREFIX + topic)

    async def _read(self) -> None:
        # Runs while anything listens; it ends with the last listener, so no task
        # outlives the work that needed it.
        while self.bells:
            try:
                message = await self.pubsub.get_message(timeout=READ_SECONDS)
            except (RedisError, OSError):
                # redis-py reconnects on the next read and re-subscribes every channel.
                log.warning("wake-up subscriber lost Redis; retrying", exc_info=True)
                await asyncio.sleep(READ_SECONDS)
                continue
            if message is None:
                continue
            channel = message["channel"]
            topic = (channel.decode() if isinstance(channel, bytes) else channel)[len(PREFIX) :]
            if message["type"] == "subscribe":
                if topic in self.confirmed:
                    self.confirmed[topic].set()
            elif message["type"] == "message":
                self.deliver(topic)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Hub] = weakref.WeakKeyDictionary()


def _hub() -> _Hub:
    # Connections and events belong to one event loop; a process may run several
    # (a test's, daphne's), each gets its own hub.
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = _RedisHub(settings.REDIS_URL) if settings.REDIS_URL else _LocalHub()
    return hub


async def ring(topic: str) -> None:
    """Wake every listener of `topic`, in any process."""
    await _hub().ring(topic)


@contextlib.asynccontextmanager
async def listening(topic: str) -> AsyncIterator[Bell]:
    """A bell rung by `ring(topic)` from anywhere, until the block ends."""
    hub, bell = _hub(), Bell()
    await hub.add(topic, bell)
    try:
        yield bell
    finally:
        # A cancelled listener (a client gone) must still unsubscribe.
        await asyncio.shield(hub.remove(topic, bell))
