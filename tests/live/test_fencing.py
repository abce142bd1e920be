"""Fencing a live session's writers: a lease acts only for its own holder, and an event
writer whose claim was superseded writes nothing."""

import threading
import time
import uuid
from collections.abc import Callable

import pytest
from django.db import transaction

from sessions_app.models import Session, SessionEvent
from sessions_app.services import events, metrics, sessions
from sessions_app.services.artifacts import ArtifactStore
from sessions_app.services.leases import Lease
from sessions_app.services.shared_cache import shared_cache
from tests.support.threads import in_thread

FINAL = ("final_transcript", {"text": "hello"})


# -- leases --------------------------------------------------------------------------


class TakeoverAtFirstLook:
    """Between a stale holder's look at its lease and what it does next, the lease
    runs out and another holder takes it (on another thread, as another worker would).

    The takeover starts at the holder's first `get` of the lease key and is given a
    moment to finish before that `get` returns; where the holder's check and act are
    one atomic step, there is no such moment, and the takeover happens after it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, stale: Lease, successor: Lease):
        self.stale, self.successor = stale, successor
        self.thread: threading.Thread | None = None
        cache = shared_cache()
        original_get = cache.get
        holder_thread = threading.get_ident()

        def get(key, *args, **kwargs):
            value = original_get(key, *args, **kwargs)
            if key == stale.key and threading.get_ident() == holder_thread:
                self._start()
                self.thread.join(timeout=0.3)  # blocked only if check-and-act is atomic
            return value

        monkeypatch.setattr(cache, "get", get)

    def _start(self) -> None:
        if self.thread is None:

            def take_over() -> None:
                shared_cache().delete(self.stale.key)  # its time ran out
                assert self.successor.acquire()

            self.thread = threading.Thread(target=take_over, daemon=True)
            self.thread.start()

    def run(self, act: Callable[[], object]) -> None:
        act()
        self._start()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()


def _leases(seconds_stale: int, seconds_successor: int) -> tuple[Lease, Lease]:
    name = f"fence-test-{uuid.uuid4().hex}"
    stale = Lease(name, seconds_stale, holder="stale")
    successor = Lease(name, seconds_successor, holder="successor")
    assert stale.acquire()
    return stale, successor


def test_renew_never_extends_or_shortens_a_lease_that_passed_to_another_holder(monkeypatch):
    stale, successor = _leases(seconds_stale=1, seconds_successor=60)
    TakeoverAtFirstLook(monkeypatch, stale, successor).run(stale.renew)
    monkeypatch.undo()
    # A renew that reached the successor's entry would have cut it to the stale one's 1 s.
    time.sleep(1.3)
    assert successor.held()
    assert not stale.renew()
    assert successor.held()


def test_release_never_frees_a_lease_that_passed_to_another_holder(monkeypatch):
    stale, successor = _leases(seconds_stale=30, seconds_successor=30)
    TakeoverAtFirstLook(monkeypatch, stale, successor).run(stale.release)
    monkeypatch.undo()
    assert successor.held()
    stale.release()
    assert successor.held()
    successor.release()


def test_renew_and_release_act_on_the_holders_own_lease():
    lease = Lease(f"fence-test-{uuid.uuid4().hex}", 1)
    assert lease.acquire()
    lease.seconds = 60
    assert lease.renew()
    time.sleep(1.3)  # past the first term: the renewal extended it
    assert lease.held()
    lease.release()
    assert not lease.taken()
    assert not lease.renew()


# -- the event log ----------------------------------------------------------------------


@pytest.fixture
def session(transactional_db, customer_with_credits) -> Session:
    return Session.objects.create(kind=Session.Kind.LIVE, customer=customer_with_credits.customer)


def _rows(session: Session) -> list[tuple[int, str]]:
    return list(
        SessionEvent.objects.filter(session=session).order_by("seq").values_list("seq", "type")
    )


def test_a_fenced_out_writers_append_raises_fenced_and_writes_no_row(session, monkeypatch):
    stale = sessions.claim_writer(session)
    events.emit_many(session, [FINAL], epoch=stale)
    sessions.claim_writer(Session.objects.get(pk=session.pk))
    counted: list[list[str]] = []
    monkeypatch.setattr(metrics, "count_events", counted.append)

    with pytest.raises(sessions.Fenced):
        events.emit_many(session, [FINAL, ("emotion", {})], epoch=stale)

    assert _rows(session) == [(1, "final_transcript")]
    assert Session.objects.get(pk=session.pk).last_event_seq == 1
    log = ArtifactStore(session.conversation_id).path("events.jsonl").read_text().splitlines()
    assert len(log) == 1
    assert counted == []


def test_a_claim_by_a_second_writer_fences_the_first(session):
    first = sessions.claim_writer(session)
    sessions.append_events(session, [FINAL], epoch=first)
    second = sessions.claim_writer(Session.objects.get(pk=session.pk))
    assert second > first

    with pytest.raises(sessions.Fenced):
        sessions.append_events(session, [FINAL], epoch=first)
    sessions.append_events(session, [("final_transcript", {"text": "again"})], epoch=second)
    # Writers that never claim (batch analysis, Bodhi) are not fenced.
    sessions.append_events(session, [("done", {})])

    assert _rows(session) == [(1, "final_transcript"), (2, "final_transcript"), (3, "done")]


def test_a_claim_waits_for_an_append_in_progress_and_fences_every_append_after_it(session):
    first = sessions.claim_writer(session)
    appended, release = threading.Event(), threading.Event()

    def append_and_hold() -> None:
        with transaction.atomic():
            sessions.append_events(session, [FINAL], epoch=first)
            appended.set()
            release.wait(10)

    appender, appender_outcome = in_thread(append_and_hold)
    assert appended.wait(10)
    claimer, claimed = in_thread(lambda: sessions.claim_writer(session))
    claimer.join(0.5)
    assert claimer.is_alive(), "the claim must wait for the append's lock"
    release.set()
    appender.join(10)
    claimer.join(10)

    assert appender_outcome == [None]
    assert claimed == [first + 1]
    with pytest.raises(sessions.Fenced):
        sessions.append_events(session, [FINAL], epoch=first)
    assert _rows(session) == [(1, "final_transcript")]


def test_concurrent_appends_under_a_claim_number_events_without_gaps(session):
    epoch = sessions.claim_writer(session)
    writers, batches = 4, 5

    def write() -> None:
        for _ in range(batches):
            sessions.append_events(session, [FINAL, ("emotion", {})], epoch=epoch)

    threads = [in_thread(write) for _ in range(writers)]
    for thread, _ in threads:
        thread.join(60)
    assert [outcome for _, outcome in threads] == [[None]] * writers

    seqs = [seq for seq, _ in _rows(session)]
    assert seqs == list(range(1, writers * batches * 2 + 1))
    assert Session.objects.get(pk=session.pk).last_event_seq == len(seqs)
