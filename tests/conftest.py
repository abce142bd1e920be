"""Shared fixtures: personas and a real daphne server on loopback."""

import io
import os
import socket
import subprocess
import sys
import time
import wave
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "audio"


def pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def wav_bytes(pcm: bytes, rate: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


@pytest.fixture(scope="session")
def jfk_wav() -> bytes:
    """JFK's 11 s, 16 kHz mono WAV, plus 1 s of silence so the last segment ends by endpoint."""
    from sessions_app.engine import decode_file

    samples = decode_file(FIXTURES / "jfk.ogg").mono()
    return wav_bytes(pcm16(np.concatenate([samples, np.zeros(16000, np.float32)])), 16000)


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_for_servers() -> str:
    """The URL of the database pytest-django created, for server subprocesses."""
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{settings['NAME']}"))


def server_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DATABASE_URL=database_url_for_servers(), PYTHONUNBUFFERED="1", **extra)
    env.setdefault("SECRET_KEY", "test-secret-key")
    env.setdefault("JWT_SIGNING_KEY", "test-jwt-signing-key-at-least-32-chars")
    return env


SERVERS = {
    "daphne": lambda port: [
        "daphne",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "config.asgi:application",
    ],
    # uvicorn offers the WebSocket Denial Response extension; daphne does not.
    "uvicorn": lambda port: [
        "uvicorn",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--ws",
        "websockets",
        "config.asgi:application",
    ],
}


class AsgiServer:
    def __init__(self, env: dict[str, str], log_path: Path, kind: str = "daphne"):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", *SERVERS[kind](self.port)],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


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
