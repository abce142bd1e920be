"""Shared fixtures: personas and a real daphne server on loopback."""

from decimal import Decimal

import httpx
import numpy as np
import pytest

from tests.support import FIXTURES
from tests.support.audio import wav_bytes
from tests.support.servers import AsgiServer, server_env


@pytest.fixture(scope="session")
def jfk_wav() -> bytes:
    """JFK's 11 s, 16 kHz mono WAV, plus 1 s of silence so the last segment ends by endpoint."""
    from sessions_app.engine import decode_file

    samples = decode_file(FIXTURES / "jfk.ogg").mono()
    return wav_bytes([np.concatenate([samples, np.zeros(16000, np.float32)])], 16000)


def _provision(name: str, plan: str, credits):
    # Imported here so that suites that never touch Django (engine, agents) can
    # run with `-p no:django`.
    from accounts import services

    return services.provision_customer(name, plan_code=plan, credits=credits)


@pytest.fixture
def customer_with_credits(db):
    return _provision("Acme Calls", "pro", Decimal("100"))


@pytest.fixture
def customer_without_credits(db):
    return _provision("Broke Ltd", "free", 0)


@pytest.fixture
def outsider(db):
    """Another tenant: everything of theirs must look like it does not exist."""
    return _provision("Charlie Co", "pro", Decimal("100"))


@pytest.fixture(scope="session")
def daphne(django_db_setup, django_db_blocker, tmp_path_factory):
    """One daphne process serving the test database, for the whole session."""
    # A short idle timeout keeps the idle test quick; real-time clients never pause that long.
    server = AsgiServer(
        server_env(BODHI_IDLE_TIMEOUT_SECONDS="3"), tmp_path_factory.mktemp("daphne") / "daphne.log"
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def uvicorn_server(django_db_setup, django_db_blocker, tmp_path_factory):
    server = AsgiServer(
        server_env(), tmp_path_factory.mktemp("uvicorn") / "uvicorn.log", kind="uvicorn"
    )
    yield server
    server.stop()


@pytest.fixture
def live(daphne, transactional_db):
    """The running server, with test data committed so that it can see it."""
    return daphne


@pytest.fixture
def http(live):
    with httpx.Client(base_url=live.url, timeout=30) as client:
        yield client
