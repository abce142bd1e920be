"""The session event log: one writer for every surface, one declared policy per event type.

What happens to an event is decided here, by its type, not by the code that produced
it: PERSISTED events are numbered and stored as SessionEvent rows before anyone is sent
them (SSE replays them by number), appended to the conversation's events.jsonl
artifact, and counted for /metrics; STREAMED events (a voice surface's audio chunks)
go to the client only and are counted, never stored. A type with no declared policy is
refused, so a new surface says what it emits before it emits it.

`settle` is the one charge-then-persist step at each final: audio up to the final is
billed (idempotently, see services.metering), then its events are logged; a final the
balance cannot pay for raises InsufficientCredits and nothing of it is logged.

A fenced writer (a live-capture processor) passes the epoch its claim returned,
`emit_many(session, produced, epoch=epoch)` / `settle(..., epoch=epoch)`, and stops on
sessions.Fenced, raised with nothing of the batch stored, logged or counted; see
sessions_app.services.sessions for the protocol. Unfenced writers pass no epoch.
"""

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from sessions_app.models import Session, SessionEvent
from sessions_app.services import metrics, sessions
from sessions_app.services.artifacts import ArtifactStore
from sessions_app.services.metering import Meter

Produced = list[tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class Policy:
    row: bool  # numbered and stored before it is sent (replayable)
    artifact: bool  # a line of the conversation's events.jsonl
    metric: bool = True  # counted in /metrics


PERSISTED = Policy(row=True, artifact=True)
STREAMED = Policy(row=False, artifact=False)

POLICIES: dict[str, Policy] = {
    # Conversation analytics (Illocution): batch, replay and live capture.
    "status": PERSISTED,
    "partial_transcript": PERSISTED,
    "final_transcript": PERSISTED,
    "emotion": PERSISTED,
    "cognitive": PERSISTED,
    "transition": PERSISTED,
    "moment": PERSISTED,
    "summary_update": PERSISTED,
    "done": PERSISTED,
    # Every surface: how a session failed.
    "error": PERSISTED,
    # Streaming recognition (Bodhi): a stream's complete segments, a file's transcript.
    "final": PERSISTED,
    "transcript": PERSISTED,
    # The voice interface (NextEVI): both sides of the call; its audio is never stored.
    "user_turn": PERSISTED,
    "user_emotion": PERSISTED,
    "assistant_turn": PERSISTED,
    "assistant_interrupted": PERSISTED,
    "tts_chunk": STREAMED,
}


class UndeclaredEvent(ValueError):
    pass


def policy(name: str) -> Policy:
    try:
        return POLICIES[name]
    except KeyError:
        raise UndeclaredEvent(f"event type {name!r} has no policy in services.events") from None


def emit(
    session: Session, name: str, payload: dict[str, Any], *, epoch: int | None = None
) -> SessionEvent | None:
    saved = emit_many(session, [(name, payload)], epoch=epoch)
    return saved[0] if saved else None


def emit_many(
    session: Session, produced: Produced, *, epoch: int | None = None
) -> list[SessionEvent]:
    """Log events by their policies; returns the stored ones, numbered, in order.

    `epoch` (sessions.claim_writer) fences the rows: sessions.Fenced once superseded."""
    if not produced:
        return []
    saved = _store(session, produced, epoch)
    _publish(session, produced, saved)
    return saved


def settle(
    session: Session,
    meter: Meter,
    upto: float,
    marker: str,
    produced: Produced,
    *,
    epoch: int | None = None,
) -> list[SessionEvent]:
    """Bill the audio up to `upto`, then store what it paid for: one transaction.

    Raises billing.InsufficientCredits, logging nothing, when the balance cannot pay.
    `marker` names the position in the idempotency key ("seg3", "utt3", "end"), so a
    retried or replayed settle is never billed twice. With `epoch`, the writer's claim
    is checked under the session's row lock before anything is charged: a fenced-out
    writer neither charges nor logs (sessions.Fenced)."""
    billed = meter.billed
    try:
        with transaction.atomic():
            if epoch is not None:
                sessions.hold_writer(session, epoch)
            meter.charge_until(upto, marker=marker)
            saved = _store(session, produced, epoch)
    except BaseException:
        meter.billed = billed  # the charge was rolled back with the rest
        raise
    _publish(session, produced, saved)
    return saved


def _store(session: Session, produced: Produced, epoch: int | None) -> list[SessionEvent]:
    stored = [(name, payload) for name, payload in produced if policy(name).row]
    return sessions.append_events(session, stored, epoch=epoch) if stored else []


def _publish(session: Session, produced: Produced, saved: list[SessionEvent]) -> None:
    """After the rows are stored: the artifact lines and the counters."""
    logged = [event for event in saved if POLICIES[event.type].artifact]
    if logged:
        ArtifactStore(session.conversation_id).append_events(logged)
    metrics.count_events([name for name, _ in produced if POLICIES[name].metric])


def events_after(session: Session, seq: int, limit: int = 500) -> list[SessionEvent]:
    return list(SessionEvent.objects.filter(session=session, seq__gt=seq).order_by("seq")[:limit])
