"""Fixtures for the voice interface (the client is tests.support.voice)."""

import time

import pytest


@pytest.fixture(autouse=True)
def calls_end_with_the_test(request):
    """Wait for the server to finish the calls a test opened (a call's last writes, its
    charge and its end, follow the client's close), so that no server is still writing
    when the test database is flushed."""
    if "transactional_db" not in request.fixturenames:
        yield
        return
    # Set up after the database, so that this runs before its tables are flushed.
    request.getfixturevalue("transactional_db")
    yield
    from sessions_app.models import Session

    deadline = time.monotonic() + 15
    while Session.objects.filter(kind=Session.Kind.VOICE, ended_at__isnull=True).exists():
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
