"""Engine tests: pure Python, no Django, real tiny.en inference.

Run with ``pytest tests/engine -p no:django``; nothing here touches the database.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "audio"
JFK_REFERENCE = (
    "And so my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country."
)


def words_of(text: str) -> list[str]:
    return ["".join(c for c in w.lower() if c.isalnum() or c == "'") for w in text.split()]


def to_pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def model():
    from sessions_app.engine import get_model

    return get_model()


@pytest.fixture(scope="session")
def jfk_16k() -> np.ndarray:
    from sessions_app.engine import decode_file

    return decode_file(FIXTURES / "jfk.ogg").mono()


@pytest.fixture(scope="session")
def jfk_pcm(jfk_16k) -> bytes:
    return to_pcm16(jfk_16k)


@pytest.fixture
def idle_engine(model):
    """The process-wide scheduler with nothing queued or running. A test that counts
    partials needs it: partials only take capacity nobody else needs, and work a test
    before it abandoned (a client gone mid-final) can still be running for a moment."""
    import time

    from sessions_app.engine import get_scheduler

    sched = get_scheduler()
    deadline = time.monotonic() + 30
    while sched.running or sched.depth:
        assert time.monotonic() < deadline, "the speech engine stayed busy for 30 s"
        time.sleep(0.05)
    return sched
