"""Live capture ingest: sessions, chunk sequencing, control, time to live.

Chunks are written to DATA_DIR/<conversation_id>/chunks/ and fsynced before the
upload is acknowledged; sequencing happens under a row lock, so concurrent
uploads to any server process agree on the order.
"""

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from accounts.access import Access
from accounts.errors import AccessDenied, Denial
from accounts.models import Customer
from sessions_app.models import LiveCapture, Session
from sessions_app.services import events, sessions
from sessions_app.services.artifacts import ArtifactStore

MIN_TTL, MAX_TTL, DEFAULT_TTL = 60, 3600, 900
ENDED = {Session.Status.COMPLETED, Session.Status.CANCELLED, Session.Status.FAILED}
INGESTING = {Session.Status.WAITING_MEDIA, Session.Status.ACTIVE}


class LiveConflict(Exception):
    """A 409: the request does not fit the session's state."""


def chunk_dir(conversation_id: str) -> Path:
    return ArtifactStore(conversation_id).path("chunks")


def chunk_path(conversation_id: str, seq: int) -> Path:
    return chunk_dir(conversation_id) / f"{seq:08d}.bin"


def start(access: Access, *, goal: str, suffix: str, ttl_seconds: int) -> LiveCapture:
    with transaction.atomic():
        session = sessions.open_session(
            access,
            Session.Kind.LIVE,
            status=Session.Status.WAITING_MEDIA,
            conversation_id=f"liveconv_{secrets.token_hex(4)}",
            metadata={"goal": goal},
        )
        capture = LiveCapture.objects.create(
            session=session,
            public_id=f"live_{secrets.token_hex(4)}",
            suffix=suffix,
            goal=goal,
            ttl_seconds=ttl_seconds,
            expires_at=timezone.now() + timedelta(seconds=ttl_seconds),
        )
        events.emit(session, "status", {"phase": "waiting_media", "progress": 0.0})
    chunk_dir(session.conversation_id).mkdir(parents=True, exist_ok=True)
    return capture


def find(customer: Customer, public_id: str) -> LiveCapture:
    """The customer's own live session, or 404: another tenant's looks exactly like none."""
    capture = (
        LiveCapture.objects.select_related("session", "session__config")
        .filter(public_id=public_id, session__customer=customer)
        .first()
    )
    if capture is None or is_expired(capture):
        raise AccessDenied(Denial.SESSION_NOT_FOUND)
    return capture


def is_expired(capture: LiveCapture) -> bool:
    return capture.session.status == Session.Status.EXPIRED or (
        capture.session.status in INGESTING and capture.expires_at <= timezone.now()
    )


def _extend(capture: LiveCapture) -> None:
    capture.expires_at = timezone.now() + timedelta(seconds=capture.ttl_seconds)


@dataclass(frozen=True)
class ChunkReceipt:
    received_bytes: int
    next_chunk_seq: int
    duplicate: bool


def _write_durably(path: Path, data: bytes) -> None:
    temp = path.with_suffix(".part")
    with open(temp, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)


def _locked(customer: Customer, public_id: str) -> LiveCapture:
    """The customer's capture read under a row lock (inside a transaction); 404 for
    another tenant's, an unknown or an expired one."""
    capture = (
        LiveCapture.objects.select_for_update()
        .select_related("session")
        .filter(public_id=public_id, session__customer=customer)
        .first()
    )
    if capture is None or is_expired(capture):
        raise AccessDenied(Denial.SESSION_NOT_FOUND)
    return capture


def accept_chunk(customer: Customer, public_id: str, seq: int, data: bytes) -> ChunkReceipt:
    """Store chunk `seq` durably, in order: one locked read, one write, no other query."""
    digest = hashlib.sha256(data).hexdigest()
    with transaction.atomic():
        capture = _locked(customer, public_id)
        session = capture.session
        if session.status not in INGESTING:
            raise LiveConflict("Session already finalized")
        if seq == capture.next_chunk_seq - 1 and digest == capture.last_chunk_sha256:
            # A retry of the last accepted chunk: acknowledged again, stored and billed once.
            return ChunkReceipt(capture.received_bytes, capture.next_chunk_seq, duplicate=True)
        if seq != capture.next_chunk_seq:
            raise LiveConflict(f"Expected chunk_seq={capture.next_chunk_seq}")
        _write_durably(chunk_path(session.conversation_id, seq), data)
        capture.next_chunk_seq += 1
        capture.received_bytes += len(data)
        capture.last_chunk_sha256, capture.last_chunk_size = digest, len(data)
        _extend(capture)
        capture.save(
            update_fields=[
                "next_chunk_seq",
                "received_bytes",
                "last_chunk_sha256",
                "last_chunk_size",
                "expires_at",
            ]
        )
        if session.status == Session.Status.WAITING_MEDIA:
            Session.objects.filter(pk=session.pk).update(status=Session.Status.ACTIVE)
    return ChunkReceipt(capture.received_bytes, capture.next_chunk_seq, duplicate=False)


def control(customer: Customer, public_id: str, action: str, reason: str) -> LiveCapture:
    with transaction.atomic():
        capture = _locked(customer, public_id)
        session = capture.session
        if action == "keepalive":
            if session.status in ENDED:
                raise LiveConflict("Session already finalized")
            _extend(capture)
            capture.save(update_fields=["expires_at"])
        elif session.status not in INGESTING:
            raise LiveConflict("Session already finalized")
        else:
            status = Session.Status.FINALIZING if action == "finalize" else Session.Status.CANCELLED
            session.status = status
            session.metadata = {**session.metadata, f"{action}_reason": reason}
            session.save(update_fields=["status", "metadata", "updated_at"])
    return capture


def mark_expired(capture: LiveCapture) -> None:
    Session.objects.filter(pk=capture.session_id, status__in=INGESTING).update(
        status=Session.Status.EXPIRED, ended_at=timezone.now()
    )
