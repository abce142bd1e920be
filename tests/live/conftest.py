"""Fixtures for live capture (the client is tests.support.live)."""

import contextlib
import time

import httpx
import pytest

from tests.support.live import STARTED, Reader, key_headers


@pytest.fixture(autouse=True)
def sessions_end_with_the_test(request):
    """Cancel what a test left running and wait for its processors to stop, so that
    no server is still writing when the test database is flushed."""
    if "transactional_db" in request.fixturenames:
        # Set up after the database, so that this runs before its tables are flushed.
        request.getfixturevalue("transactional_db")
    STARTED.clear()
    yield
    if not STARTED:
        return
    from sessions_app.models import Session

    for base_url, secret, session in STARTED:
        with contextlib.suppress(httpx.TransportError):  # that server is gone (a restart test)
            httpx.post(
                base_url.rstrip("/") + session["control_endpoint"],
                headers={"X-API-Key": secret},
                json={"action": "cancel"},
                timeout=10,
            )
    ids = [session["conversation_id"] for _, _, session in STARTED]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if not Session.objects.filter(conversation_id__in=ids, ended_at__isnull=True).exists():
            break
        time.sleep(0.1)


@pytest.fixture
def reader_for(live):
    def make(session: dict, customer, **kwargs) -> Reader:
        return Reader(
            live.url + session["events_endpoint"], headers=key_headers(customer), **kwargs
        )

    return make
