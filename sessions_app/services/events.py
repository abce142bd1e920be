"""Emitting an analytics event: numbered and persisted before anyone is sent it."""

from typing import Any

from sessions_app.models import Session, SessionEvent
from sessions_app.services import metrics, sessions
from sessions_app.services.artifacts import ArtifactStore


def emit(session: Session, name: str, payload: dict[str, Any]) -> SessionEvent:
    event = sessions.append_event(session, name, payload)
    ArtifactStore(session.conversation_id).append_event(event.seq, name, payload)
    metrics.count_event(name)
    return event


def emit_many(session: Session, produced: list[tuple[str, dict[str, Any]]]) -> list[SessionEvent]:
    return [emit(session, name, payload) for name, payload in produced]


def events_after(session: Session, seq: int, limit: int = 500) -> list[SessionEvent]:
    return list(SessionEvent.objects.filter(session=session, seq__gt=seq).order_by("seq")[:limit])
