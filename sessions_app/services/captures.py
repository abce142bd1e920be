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
from functools import cache, partial
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from accounts.access import Access
from accounts.models import Customer
from kernel.errors import AccessDenied, Denial
from kernel.prebuilt import column
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


@cache
def _chunk_sql(vendor: str) -> tuple[str, str, str, str]:
    """The chunk path's statements. Chunks come ten times a second per session and
    building these through the ORM cost more than running them: they are built once,
    from the models' own table and column names."""
    quote = connection.ops.quote_name
    capture_table, session_table = quote(LiveCapture._meta.db_table), quote(Session._meta.db_table)
    c, s = partial(column, "c", LiveCapture), partial(column, "s", Session)
    tables = (
        f"FROM {capture_table} c JOIN {session_table} s "
        f"ON {s('id')} = {c('session')} WHERE {c('public_id')} = %s"
    )
    # Only the capture's row: the session's is locked by whoever numbers its events (a
    # live worker, maybe starved of CPU on purpose), and a chunk must not wait for that.
    lock = ""
    if connection.features.has_select_for_update:
        lock = " FOR UPDATE OF c" if connection.features.has_select_for_update_of else " FOR UPDATE"
    ingesting = ", ".join(f"'{status}'" for status in sorted(INGESTING))
    expired = (
        f"({s('status')} = '{Session.Status.EXPIRED}' OR ({s('status')} IN ({ingesting}) "
        f"AND {c('expires_at')} <= %s))"
    )
    # After waiting for the lock, PostgreSQL re-reads the capture's row (its sequence
    # and expiry are current) but not the session's: a finalize that held the lock is
    # only seen by the next statement, the UPDATE, which checks the status again.
    select_capture = (
        f"SELECT {c('next_chunk_seq')}, {c('received_bytes')}, {c('last_chunk_sha256')}, "
        f"{c('ttl_seconds')}, {s('status')}, {s('conversation_id')}, {expired} "
        f"{tables} AND {s('customer')} = %s{lock}"
    )
    select_expired = f"SELECT {expired} {tables}"
    # UPDATE ... SET takes bare columns: SQLite has no table aliases there.
    bare_capture, bare_session = partial(column, "", LiveCapture), partial(column, "", Session)
    columns = ("next_chunk_seq", "received_bytes", "last_chunk_sha256", "last_chunk_size")
    update_capture = (
        f"UPDATE {capture_table} SET "
        + ", ".join(f"{bare_capture(n)} = %s" for n in (*columns, "expires_at"))
        + f" WHERE {bare_capture('public_id')} = %s AND EXISTS (SELECT 1"
        + f" FROM {session_table} s WHERE {s('id')} = {column(capture_table, LiveCapture, 'session')}"
        + f" AND {s('status')} IN ({ingesting}))"
    )
    update_session = (
        f"UPDATE {session_table} SET {bare_session('status')} = %s "
        f"WHERE {bare_session('conversation_id')} = %s "
        f"AND {bare_session('status')} = '{Session.Status.WAITING_MEDIA}'"
    )
    return select_capture, select_expired, update_capture, update_session


def accept_chunk(customer: Customer, public_id: str, seq: int, data: bytes) -> ChunkReceipt:
    """Store chunk `seq` durably, in order, under the capture's row lock."""
    digest = hashlib.sha256(data).hexdigest()
    select_capture, select_expired, update_capture, update_session = _chunk_sql(connection.vendor)
    adapt = connection.ops.adapt_datetimefield_value
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(select_capture, [adapt(now), public_id, customer.pk])
        row = cursor.fetchone()
        if row is None:
            raise AccessDenied(Denial.SESSION_NOT_FOUND)
        next_seq, received, last_digest, ttl, status, conversation_id, expired = row
        if expired:
            raise AccessDenied(Denial.SESSION_NOT_FOUND)
        if status not in INGESTING:
            raise LiveConflict("Session already finalized")
        if seq == next_seq - 1 and digest == last_digest:
            # A retry of the last accepted chunk: acknowledged again, stored and billed once.
            return ChunkReceipt(received, next_seq, duplicate=True)
        if seq != next_seq:
            raise LiveConflict(f"Expected chunk_seq={next_seq}")
        path = chunk_path(conversation_id, seq)
        _write_durably(path, data)
        next_seq, received = next_seq + 1, received + len(data)
        expires_at = adapt(now + timedelta(seconds=ttl))
        cursor.execute(
            update_capture, [next_seq, received, digest, len(data), expires_at, public_id]
        )
        if cursor.rowcount == 0:
            # The session stopped ingesting while this chunk waited for the lock.
            path.unlink(missing_ok=True)
            cursor.execute(select_expired, [adapt(now), public_id])
            if cursor.fetchone()[0]:
                raise AccessDenied(Denial.SESSION_NOT_FOUND)
            raise LiveConflict("Session already finalized")
        if status == Session.Status.WAITING_MEDIA:
            cursor.execute(update_session, [Session.Status.ACTIVE, conversation_id])
    return ChunkReceipt(received, next_seq, duplicate=False)


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
