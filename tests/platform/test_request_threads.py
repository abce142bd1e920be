"""Requests run their sync work on pooled threads, one request per thread at a time."""

import asyncio
import threading

import pytest
from django.core.signals import request_started

from config.request_threads import ExecutorPool, PooledThreadASGIHandler


async def _get(handler: PooledThreadASGIHandler, path: str) -> int:
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1),
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
    }
    messages = iter([{"type": "http.request", "body": b"", "more_body": False}])
    status = []

    async def receive():
        try:
            return next(messages)
        except StopIteration:
            await asyncio.Event().wait()  # no disconnect until the response is sent

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await handler(scope, receive, send)
    return status[0]


@pytest.fixture
def sync_threads():
    """The threads Django's sync request_started receivers ran on."""
    seen: list[threading.Thread] = []

    def record(**kwargs):
        seen.append(threading.current_thread())

    request_started.connect(record)
    yield seen
    request_started.disconnect(record)


@pytest.mark.django_db
def test_consecutive_requests_reuse_one_pooled_thread(sync_threads):
    handler = PooledThreadASGIHandler()

    async def twice():
        return [await _get(handler, "/healthz"), await _get(handler, "/healthz")]

    assert asyncio.run(twice()) == [200, 200]
    first, second = sync_threads
    assert first is second  # no thread started per request
    assert first is not threading.main_thread() and first.name.startswith("request")
    assert handler.threads.idle == 1


@pytest.mark.django_db
def test_concurrent_requests_get_a_thread_each(sync_threads):
    handler = PooledThreadASGIHandler()

    async def together():
        return await asyncio.gather(*(_get(handler, "/healthz") for _ in range(3)))

    assert asyncio.run(together()) == [200, 200, 200]
    assert len({t.ident for t in sync_threads}) == 3
    assert handler.threads.idle == 3


def test_pool_keeps_at_most_its_limit_of_idle_threads():
    pool = ExecutorPool(keep=1)
    a, b = pool.borrow(), pool.borrow()
    assert a is not b
    pool.give_back(a)
    pool.give_back(b)  # beyond the limit: shut down, not kept
    assert pool.idle == 1 and pool.borrow() is a
    with pytest.raises(RuntimeError):
        b.submit(lambda: None)
