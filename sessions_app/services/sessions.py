"""Session lifecycle and the per-session event log.

Fencing a session's event writer. A live capture is processed by whichever process
holds its lease (services.leases), but a lease is only a promise about time: a
holder that stalls past it (a CPU-starved worker, a long pause) cannot tell that
another has taken over, and would keep writing. So the event log itself checks
who may write, in the transaction that appends:

    epoch = sessions.claim_writer(session)        # once, after acquiring the lease
    ...                                           # and before reading the log to resume
    events.emit_many(session, produced, epoch=epoch)
    # raises sessions.Fenced, having written nothing, once a later claim was made:
    # the caller has been replaced and stops quietly.

Claim before reading what was already written (finals persisted, last seq): every
append of the previous writer is then either committed before the claim, and so
visible to the new one, or refused. Writers that never claim (batch analysis, the
Bodhi stream, which own their sessions outright) pass no epoch and are never fenced.
"""

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


class Fenced(Exception):
    """The writer's claim on the session's event log was superseded by a later one."""


def claim_writer(session: Session) -> int:
    """Become the session's only event writer; returns the epoch to append with.

    The UPDATE takes the session's row lock (SQLite: the database's write lock), so a
    claim serialises with appends: an append under the old epoch either committed
    before it or sees the new epoch and is refused."""
    with transaction.atomic():
        Session.objects.filter(pk=session.pk).update(writer_epoch=F("writer_epoch") + 1)
        epoch = Session.objects.filter(pk=session.pk).values_list("writer_epoch", flat=True).get()
    session.writer_epoch = epoch
    return epoch


def hold_writer(session: Session, epoch: int) -> None:
    """Inside a transaction: lock the session's row and raise Fenced unless `epoch` is
    still the latest claim, so that what the transaction does next (a charge, then the
    events it paid for) is done by the current writer or not at all."""
    current = (
        Session.objects.select_for_update()
        .filter(pk=session.pk)
        .values_list("writer_epoch", flat=True)
        .get()
    )
    if epoch != current:
        raise Fenced(f"session {session.pk}: writer epoch {epoch} superseded by {current}")


def append_events(
    session: Session, produced: list[tuple[str, dict[str, Any]]], *, epoch: int | None = None
) -> list[SessionEvent]:
    """Persist events with the session's next sequence numbers, allocated as one block
    under a row lock, so that concurrent writers never share or skip a number.

    With `epoch` (from claim_writer), raises Fenced and writes nothing unless that
    claim is still the latest; the epoch is read under the same lock, in the same
    statement as the sequence number."""
    with transaction.atomic():
        last, current = (
            Session.objects.select_for_update()
            .filter(pk=session.pk)
            .values_list("last_event_seq", "writer_epoch")
            .get()
        )
        if epoch is not None and epoch != current:
            raise Fenced(f"session {session.pk}: writer epoch {epoch} superseded by {current}")
        events = [
            SessionEvent(session=session, seq=last + offset, type=name, payload=payload)
            for offset, (name, payload) in enumerate(produced, start=1)
        ]
        Session.objects.filter(pk=session.pk).update(last_event_seq=last + len(events))
        SessionEvent.objects.bulk_create(events)
    session.last_event_seq = last + len(events)
    return events


def record_audio(session: Session, seconds: Decimal) -> None:
    Session.objects.filter(pk=session.pk).update(audio_seconds=F("audio_seconds") + seconds)


def end_session(session: Session, status: str) -> None:
    session.status = status
    session.ended_at = timezone.now()
    session.save(update_fields=["status", "ended_at", "updated_at"])
