"""Sessions: one per analysis, replay, live capture, ASR stream or voice call."""

import secrets
import uuid

from django.db import models


def new_conversation_id() -> str:
    # Illocution clients see ids like analysis_f38de2c0c1.
    return f"analysis_{secrets.token_hex(5)}"


class Session(models.Model):
    class Kind(models.TextChoices):
        ANALYSIS = "analysis"
        REPLAY = "replay"
        LIVE = "live"
        ASR_STREAM = "asr_stream"
        ASR_BATCH = "asr_batch"
        VOICE = "voice"

    class Status(models.TextChoices):
        WAITING_MEDIA = "waiting_media"
        ACTIVE = "active"
        FINALIZING = "finalizing"
        COMPLETED = "completed"
        CANCELLED = "cancelled"
        FAILED = "failed"
        EXPIRED = "expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The id clients see; names the artifact directory DATA_DIR/<conversation_id>/.
    conversation_id = models.CharField(
        max_length=64, unique=True, default=new_conversation_id, editable=False
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    customer = models.ForeignKey(
        "accounts.Customer", on_delete=models.CASCADE, related_name="sessions"
    )
    project = models.ForeignKey(
        "accounts.Project", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    config = models.ForeignKey(
        "accounts.Config", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    api_key = models.ForeignKey(
        "accounts.ApiKey", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    audio_seconds = models.DecimalField(max_digits=14, decimal_places=3, default=0)
    # Credits' worth of audio already billed; charging moves it forward, never back.
    billed_seconds = models.DecimalField(max_digits=14, decimal_places=3, default=0)
    # The sequence number of the last persisted event (see SessionEvent).
    last_event_seq = models.PositiveIntegerField(default=0)
    # The fencing token of the session's event writer: each claim (sessions.claim_writer)
    # moves it on, and an append made under an older claim is refused (sessions.Fenced).
    writer_epoch = models.PositiveIntegerField(default=0)
    # Surface-specific facts: Bodhi transaction_id and model, live-capture goal, ...
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Set by `manage.py purge_artifacts`; the row stays for usage history.
    artifacts_purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"


class SessionEvent(models.Model):
    """An event the session emitted, persisted before it is sent.

    `seq` numbers a session's events from 1 without gaps; SSE uses it as the event
    id so a reconnecting client gets exactly what it missed.
    """

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=40)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "seq"]
        constraints = [models.UniqueConstraint(fields=["session", "seq"], name="one_event_per_seq")]

    def __str__(self) -> str:
        return f"{self.session_id}#{self.seq} {self.type}"


class LiveCapture(models.Model):
    """The ingest side of a live session: chunk sequencing and its time to live."""

    session = models.OneToOneField(
        Session, on_delete=models.CASCADE, primary_key=True, related_name="live"
    )
    public_id = models.CharField(max_length=40, unique=True)
    suffix = models.CharField(max_length=16, default=".mp4")
    goal = models.TextField(blank=True)
    ttl_seconds = models.PositiveIntegerField(default=900)
    expires_at = models.DateTimeField(db_index=True)
    next_chunk_seq = models.PositiveIntegerField(default=0)
    received_bytes = models.PositiveBigIntegerField(default=0)
    # The last accepted chunk, so that a retry with the same bytes is acknowledged again.
    last_chunk_sha256 = models.CharField(max_length=64, blank=True)
    last_chunk_size = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.public_id
