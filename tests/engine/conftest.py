"""Engine tests: pure Python, no Django, real tiny.en inference.

Run with ``pytest tests/engine -p no:django``; nothing here touches the database.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
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


@dataclass
class FullScheduler:
    """A one-worker scheduler whose worker is busy and whose queue is full: partials are
    shed, finals refused (or, when patient, kept waiting) until `gate` is set."""

    scheduler: object
    gate: threading.Event


@pytest.fixture
def full_scheduler(model):
    from sessions_app.engine import Priority, Scheduler

    sched = Scheduler(workers=1, queue_size=1)
    gate, started = threading.Event(), threading.Event()
    try:
        sched.submit(lambda: started.set() or gate.wait(10), Priority.FINAL)
        assert started.wait(5)
        sched.submit(lambda: None, Priority.FINAL)  # fills the queue
        yield FullScheduler(sched, gate)
    finally:
        gate.set()
        sched.shutdown()
