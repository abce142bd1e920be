"""The event log: one writer, and a declared policy per event type."""

import json

import pytest

from accounts.access import authorize
from accounts.credentials import Principal
from accounts.models import Customer
from billing.products import Product
from sessions_app.models import Session, SessionEvent
from sessions_app.services import events, sessions
from sessions_app.services.artifacts import ArtifactStore
from sessions_app.services.metrics import event_counts


@pytest.fixture
def session(db, customer_with_credits, settings, tmp_path) -> Session:
    settings.DATA_DIR = tmp_path
    c = customer_with_credits
    customer = Customer.objects.get(pk=c.customer.pk)
    access = authorize(Principal(key=c.api_key, customer=customer), product=Product.ASR)
    return sessions.open_session(access, Session.Kind.ASR_STREAM)


def _artifact_lines(session: Session) -> list[dict]:
    path = ArtifactStore(session.conversation_id).path("events.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_persisted_events_are_numbered_rows_artifact_lines_and_counted(session):
    before = event_counts(["final", "error"])
    saved = events.emit_many(session, [("final", {"text": "hello"}), ("error", {"code": 400})])
    assert [(e.seq, e.type) for e in saved] == [(1, "final"), (2, "error")]
    assert list(SessionEvent.objects.filter(session=session).values_list("type", flat=True)) == [
        "final",
        "error",
    ]
    assert [line["event"] for line in _artifact_lines(session)] == ["final", "error"]
    after = event_counts(["final", "error"])
    assert after == {"final": before["final"] + 1, "error": before["error"] + 1}


def test_a_streamed_event_is_counted_but_never_becomes_a_row_or_an_artifact_line(
    session, monkeypatch
):
    monkeypatch.setitem(events.POLICIES, "audio_output", events.STREAMED)
    before = event_counts(["audio_output"])["audio_output"]
    saved = events.emit_many(
        session, [("audio_output", {"data": "UklGR..."}), ("final", {"text": "hi"})]
    )
    assert [e.type for e in saved] == ["final"]
    assert saved[0].seq == 1  # a streamed event takes no number
    assert not SessionEvent.objects.filter(session=session, type="audio_output").exists()
    assert [line["event"] for line in _artifact_lines(session)] == ["final"]
    assert event_counts(["audio_output"])["audio_output"] == before + 1


def test_an_undeclared_event_type_is_refused_and_nothing_is_written(session):
    with pytest.raises(events.UndeclaredEvent, match="'surprise'"):
        events.emit_many(session, [("final", {"text": "hi"}), ("surprise", {})])
    assert not SessionEvent.objects.filter(session=session).exists()
    assert _artifact_lines(session) == []


def test_settle_charges_before_it_logs_and_logs_nothing_it_could_not_charge(
    db, customer_without_credits, settings, tmp_path
):
    from billing.services import InsufficientCredits
    from sessions_app.services.metering import Meter

    settings.DATA_DIR = tmp_path
    c = customer_without_credits
    customer = Customer.objects.get(pk=c.customer.pk)
    # Authorized with a product-free check: the balance is the meter's to refuse.
    access = authorize(Principal(key=c.api_key, customer=customer), product=None)
    session = sessions.open_session(access, Session.Kind.ASR_STREAM)
    with pytest.raises(InsufficientCredits):
        events.settle(session, Meter(session, Product.ASR), 2.5, "seg0", [("final", {})])
    assert not SessionEvent.objects.filter(session=session).exists()


def test_metrics_list_every_declared_event_type(client, customer_with_credits):
    body = client.get("/metrics", headers={"X-API-Key": customer_with_credits.secret}).json()
    assert set(body["events"]) == set(events.POLICIES)
