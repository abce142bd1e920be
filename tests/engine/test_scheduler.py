from __future__ import annotations

import asyncio
import threading

import pytest

from sessions_app.engine import EngineOverloaded, Priority, Scheduler
from sessions_app.engine.errors import PartialDropped


@pytest.fixture
def blocked():
    """A one-worker scheduler whose worker is stuck until the test releases it."""
    sched = Scheduler(workers=1, queue_size=2)
    gate = threading.Event()
    started = threading.Event()

    def hold():
        started.set()
        gate.wait(5)
        return "held"

    sched.submit(hold, Priority.FINAL)
    assert started.wait(5)
    yield sched, gate
    gate.set()
    sched.shutdown()


def test_overload_refusal_happens_when_queue_is_full(blocked):
    sched, gate = blocked
    sched.submit(lambda: 1, Priority.FINAL)
    sched.submit(lambda: 2, Priority.BATCH)
    with pytest.raises(EngineOverloaded):
        sched.submit(lambda: 3, Priority.FINAL)
    assert not sched.has_capacity()
    assert sched.stats.refused == 1
    gate.set()


def test_final_evicts_queued_partial_when_queue_is_full(blocked):
    sched, gate = blocked
    partial = sched.submit(lambda: "partial", Priority.PARTIAL)
    first = sched.submit(lambda: "final-1", Priority.FINAL)
    second = sched.submit(lambda: "final-2", Priority.FINAL)  # takes the partial's slot
    gate.set()
    assert first.result(5) == "final-1" and second.result(5) == "final-2"
    with pytest.raises(PartialDropped):
        partial.result(5)
    assert sched.stats.partials_dropped == 1


def test_partials_may_only_use_half_the_queue(blocked):
    sched, gate = blocked
    sched.submit(lambda: None, Priority.PARTIAL)
    with pytest.raises(PartialDropped):
        sched.submit(lambda: None, Priority.PARTIAL)
    gate.set()


def test_finals_run_before_earlier_queued_partials_and_batch(blocked):
    sched, gate = blocked
    order: list[str] = []
    futures = [
        sched.submit(lambda: order.append("partial"), Priority.PARTIAL),
        sched.submit(lambda: order.append("final"), Priority.FINAL),
    ]
    gate.set()
    for f in futures:
        f.result(5)
    assert order == ["final", "partial"]


def test_a_queued_final_runs_before_an_earlier_queued_speech_job(blocked):
    sched, gate = blocked
    order: list[str] = []
    futures = [
        sched.submit(lambda: order.append("speech"), Priority.SPEECH),
        sched.submit(lambda: order.append("final"), Priority.FINAL),
    ]
    gate.set()
    for f in futures:
        f.result(5)
    assert order == ["final", "speech"]


def test_run_awaits_without_blocking_the_event_loop():
    sched = Scheduler(workers=1, queue_size=4)
    try:

        async def main():
            ticks = 0

            async def ticker():
                nonlocal ticks
                while True:
                    ticks += 1
                    await asyncio.sleep(0.01)

            task = asyncio.create_task(ticker())
            import time

            result = await sched.run(lambda: time.sleep(0.2) or 42, Priority.FINAL)
            task.cancel()
            return result, ticks

        result, ticks = asyncio.run(main())
        assert result == 42 and ticks >= 5
    finally:
        sched.shutdown()


def test_new_sessions_are_refused_when_the_expected_wait_is_too_long(blocked):
    sched, gate = blocked
    sched.max_wait = 0.5
    sched.avg_job_seconds = 0.4
    assert sched.has_capacity()
    sched.submit(lambda: None, Priority.FINAL)  # 1 running + 1 queued on one worker
    sched.submit(lambda: None, Priority.FINAL)
    assert sched.expected_wait() > 0.5
    with pytest.raises(EngineOverloaded):
        sched.ensure_capacity()
    with pytest.raises(EngineOverloaded):
        sched.submit(lambda: None, Priority.BATCH)
    gate.set()


def test_final_is_refused_rather_than_served_late(blocked):
    sched, gate = blocked
    sched.submit(lambda: None, Priority.FINAL)  # accepted: ~0.45 s ahead of it
    sched.avg_job_seconds = 10.0  # e.g. the CPU is starved by other processes
    with pytest.raises(EngineOverloaded):
        sched.submit(lambda: None, Priority.FINAL)
    assert sched.stats.refused == 1
    gate.set()


def test_a_patient_final_queues_however_long_the_wait(blocked):
    sched, gate = blocked
    sched.avg_job_seconds = 10.0  # saturated: an ordinary final would be refused
    queued = [sched.submit(lambda i=i: i, Priority.FINAL, patient=True) for i in range(4)]
    assert sched.depth == 4  # beyond queue_size=2 as well
    with pytest.raises(EngineOverloaded):
        sched.submit(lambda: None, Priority.FINAL)
    gate.set()
    assert [f.result(5) for f in queued] == [0, 1, 2, 3]
    assert sched.stats.refused == 1
