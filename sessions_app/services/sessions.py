"""Session lifecycle and the per-session event log."""

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.access import Access
from sessions_app.models import Session, SessionEvent


def open_session(
    access: Access, kind: str, *, metadata: dict[str, Any] | None = None, **fields
) -> Session:
    return Session.objects.create(
        kind=kind,
        customer=access.customer,
        project=access.project,
        config=access.config,
        api_key=access.key,
        metadata=metadata or {},
        **fields,
    )


def append_events(
    session: Session, produced: list[tuple[str, dict[str, Any]]]
) -> list[SessionEvent]:
    """Persist events with the session's next sequence numbers, allocated as one block
    under a row lock, so that concurrent writers never share or skip a number."""
    with transaction.atomic():
        last = (
            Session.objects.select_for_update()
            .filter(pk=session.pk)
            .values_list("last_event_seq", flat=True)
            .get()
        )
        events = [
            SessionEvent(session=session, seq=last + offset, type=name, payload=payload)
            for offset, (name, payload) in enumerate(produced, start=1)
        ]
        Session.objects.filter(pk=session.pk).update(last_event_seq=last + len(events))
        SessionEvent.objects.bulk_create(events)
    session.last_event_seq = last + len(events)
    return events


def append_event(session: Session, type: str, payload: dict[str, Any]) -> SessionEvent:
    return append_events(session, [(type, payload)])[0]


def record_audio(session: Session, seconds: Decimal) -> None:
    Session.objects.filter(pk=session.pk).update(audio_seconds=F("audio_seconds") + seconds)


def end_session(session: Session, status: str) -> None:
    session.status = status
    session.ended_at = timezone.now()
    session.save(update_fields=["status", "ended_at", "updated_at"])
