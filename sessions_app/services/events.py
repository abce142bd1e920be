"""Emitting an analytics event: numbered and persisted before anyone is sent it.

A fenced writer (a live-capture processor) passes the epoch its claim returned,
`emit_many(session, produced, epoch=epoch)`, and stops on sessions.Fenced; see
sessions_app.services.sessions for the protocol."""

from typing import Any

from sessions_app.models import Session, SessionEvent
from sessions_app.services import metrics, sessions
from sessions_app.services.artifacts import ArtifactStore


def emit(
    session: Session, name: str, payload: dict[str, Any], *, epoch: int | None = None
) -> SessionEvent:
    return emit_many(session, [(name, payload)], epoch=epoch)[0]


def emit_many(
    session: Session, produced: list[tuple[str, dict[str, Any]]], *, epoch: int | None = None
) -> list[SessionEvent]:
    """Numbered and persisted in one transaction, then logged as artifacts and counted.

    `epoch`: the writer's claim (sessions.claim_writer); raises sessions.Fenced, with
    nothing persisted, logged or counted, once another writer has claimed the session."""
    if not produced:
        return []
    saved = sessions.append_events(session, produced, epoch=epoch)
    ArtifactStore(session.conversation_id).append_events(saved)
    metrics.count_events([event.type for event in saved])
    return saved


def events_after(session: Session, seq: int, limit: int = 500) -> list[SessionEvent]:
    return list(SessionEvent.objects.filter(session=session, seq__gt=seq).order_by("seq")[:limit])
