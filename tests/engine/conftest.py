"""Engine tests: pure Python, no Django, real tiny.en inference.

Run with ``pytest tests/engine -p no:django``; nothing here touches the database.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support import FIXTURES
from tests.support.audio import pcm16


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
    return pcm16(jfk_16k)


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
