"""A chunk's transaction locks the capture only: never waits for whoever numbers the
session's events, yet never accepts a chunk after a finalize it waited for."""

import threading

import pytest
from django.db import close_old_connections, connection, transaction

from accounts.access import authorize
from accounts.credentials import Principal
from accounts.models import Customer
from billing.products import Product
from kernel.errors import AccessDenied, Denial
from sessions_app.models import LiveCapture, Session
from sessions_app.services import captures
from tests.support.threads import in_thread

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks: SQLite takes one lock for the whole database",
)


@pytest.fixture
def capture(transactional_db, customer_with_credits) -> LiveCapture:
    c = customer_with_credits
    customer = Customer.objects.get(pk=c.customer.pk)  # with its credits granted
    access = authorize(Principal(key=c.api_key, customer=customer), product=Product.ANALYTICS)
    return captures.start(access, goal="", suffix=".wav", ttl_seconds=900)


class Holder(threading.Thread):
    """Runs `work` in a transaction on its own connection and holds it until released."""

    def __init__(self, work):
        super().__init__(daemon=True)
        self.work, self.holding, self.release = work, threading.Event(), threading.Event()

    def run(self):
        try:
            with transaction.atomic():
                self.work()
                self.holding.set()
                self.release.wait(10)
        finally:
            close_old_connections()
            connection.close()


def _accept_in_thread(capture: LiveCapture, seq: int) -> tuple[threading.Thread, list]:
    return in_thread(
        lambda: captures.accept_chunk(capture.session.customer, capture.public_id, seq, b"\x01\x02")
    )


def test_a_chunk_does_not_wait_for_a_transaction_numbering_the_sessions_events(capture):
    # The first chunk makes the session active, which does take the session's row.
    captures.accept_chunk(capture.session.customer, capture.public_id, 0, b"\x00\x00")
    holder = Holder(lambda: Session.objects.select_for_update().get(pk=capture.session_id))
    holder.start()
    assert holder.holding.wait(5)
    try:
        thread, outcome = _accept_in_thread(capture, 1)
        thread.join(5)
        assert not thread.is_alive(), "the chunk waited for the session's row lock"
        assert outcome[0].next_chunk_seq == 2
    finally:
        holder.release.set()
        holder.join(5)


def _chunk_after_a_status_change_it_waited_for(capture: LiveCapture, status: str):
    def change_holding_the_capture():
        LiveCapture.objects.select_for_update().get(pk=capture.pk)
        Session.objects.filter(pk=capture.session_id).update(status=status)

    holder = Holder(change_holding_the_capture)
    holder.start()
    assert holder.holding.wait(5)
    thread, outcome = _accept_in_thread(capture, 0)
    thread.join(0.5)
    assert thread.is_alive(), "the chunk should wait for the capture's row lock"
    holder.release.set()  # the change commits
    holder.join(5)
    thread.join(5)
    return outcome[0]


def test_a_chunk_that_waited_for_a_finalize_is_refused_and_leaves_no_file(capture):
    outcome = _chunk_after_a_status_change_it_waited_for(capture, Session.Status.FINALIZING)
    assert isinstance(outcome, captures.LiveConflict)
    assert str(outcome) == "Session already finalized"
    assert not captures.chunk_path(capture.session.conversation_id, 0).exists()
    capture.refresh_from_db()
    assert capture.next_chunk_seq == 0


def test_a_chunk_that_waited_for_an_expiry_is_an_unknown_session(capture):
    outcome = _chunk_after_a_status_change_it_waited_for(capture, Session.Status.EXPIRED)
    assert isinstance(outcome, AccessDenied)
    assert outcome.denial == Denial.SESSION_NOT_FOUND
    assert not captures.chunk_path(capture.session.conversation_id, 0).exists()
