"""The processor behind one live capture: chunks on disk in, analytics events out.

Exactly one process runs a capture's processor: the holder of its lease (where that
is, and how a session is handed over, is capture_placement's business). A lease is a
promise about time only, so the processor also claims the session's event log when it
starts (sessions.claim_writer): a processor that stalled past its lease and was taken
over from is refused its next write (sessions.Fenced) and stops. A processor
that takes over replays the stored chunks from the start through a streaming
conversation told how many finals were already persisted: those come out again
identically and are skipped (not re-sent, not re-billed), and the conversation's
agents are rebuilt from them. Nothing acknowledged is lost.
"""

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from channels.db import DatabaseSyncToAsync
from django.utils import timezone

from billing.products import Product
from billing.services import InsufficientCredits
from sessions_app.engine import (
    SAMPLE_RATE,
    Event,
    StreamingOptions,
    StreamingTranscriber,
    TranscribeOptions,
)
from sessions_app.models import LiveCapture, Session, SessionEvent
from sessions_app.pipeline.capture_audio import CaptureAudioDecoder
from sessions_app.pipeline.streaming_conversation import Final, Produced, StreamingConversation
from sessions_app.services import captures, events, sessions, wakeups
from sessions_app.services.artifacts import ArtifactStore
from sessions_app.services.leases import Lease
from sessions_app.surfaces.analytics import event_shapes

log = logging.getLogger("parlance.live")

POLL_SECONDS = 0.5
MAX_POLL_SECONDS = 5.0


def in_database_pool(fn):
    """Run the processor's database work on the thread pool, not on the one thread
    that request handlers share: a busy session must not slow other requests' replies
    (chunk acknowledgements above all). Each pool thread keeps its own connection."""
    return DatabaseSyncToAsync(fn, thread_sensitive=False)


def processor_topic(public_id: str) -> str:
    return f"live-{public_id}"


def consumer_topic(public_id: str) -> str:
    # Separate from the processor's: a consumer has nothing to do when a chunk arrives.
    return f"live-events-{public_id}"


async def wake_processor(public_id: str) -> None:
    """New chunks or a control action: wake the session's processor, wherever it runs."""
    await wakeups.ring(processor_topic(public_id))


async def wake_consumers(public_id: str) -> None:
    """New events: wake the session's SSE consumer, wherever it runs."""
    await wakeups.ring(consumer_topic(public_id))


@dataclass
class _State:
    status: str
    next_chunk_seq: int
    expires_at: Any
    reason: str


class _IllocutionLog:
    """How a live capture words its stream: Illocution's SSE events."""

    def __init__(self, conversation_id: str):
        self.conversation_id = conversation_id
        self.partials = 0

    def partial(self, event: Event) -> Produced:
        entry = event_shapes.partial_transcript(self.conversation_id, self.partials, event)
        self.partials += 1
        return [entry]

    def final(self, final: Final) -> Produced:
        return [event_shapes.final_transcript(final.utterance_id, final.utterance)]

    def analysis(self, final: Final) -> Produced:
        return event_shapes.analysis(final.update) if final.update else []


class CaptureProcessor:
    def __init__(self, public_id: str, lease: Lease):
        self.public_id = public_id
        self.lease = lease
        self.started = False
        self._last_seen_seq, self._quiet_polls = -1, 0

    # -- database --------------------------------------------------------------
    def _load(self) -> None:
        capture = LiveCapture.objects.select_related("session__config", "session__customer").get(
            public_id=self.public_id
        )
        self.capture, self.session = capture, capture.session
        config = self.session.config
        # Claim the log before reading where to resume: every write of the processor this
        # one replaces is then either visible below or refused (sessions.Fenced).
        self.epoch = sessions.claim_writer(self.session)
        self.finals_persisted = SessionEvent.objects.filter(
            session=self.session, type="final_transcript"
        ).count()
        self.options = StreamingOptions(
            sample_rate=SAMPLE_RATE,
            trailing_silence=(config.endpoint_silence_ms / 1000) if config else 0.5,
            partials=config.partial_results if config else True,
            patient=True,  # the chunks are stored: fall behind rather than fail
            transcribe=TranscribeOptions(
                model=config.asr_model if config else None,
                language=config.language if config else None,
            ),
        )

    def _state(self) -> _State:
        # Raises LiveCapture.DoesNotExist once the session is deleted: the processor stops.
        capture = LiveCapture.objects.select_related("session").get(pk=self.capture.pk)
        reason = capture.session.metadata.get("cancel_reason") or ""
        return _State(capture.session.status, capture.next_chunk_seq, capture.expires_at, reason)

    # -- the loop ----------------------------------------------------------------
    async def run(self) -> None:
        try:
            await in_database_pool(self._load)()
            self.conversation_id = self.session.conversation_id
            self.decoder = CaptureAudioDecoder(self.capture.suffix)
            transcriber = await asyncio.to_thread(StreamingTranscriber, self.options)
            self.conversation = StreamingConversation(
                self.session,
                transcriber,
                product=Product.ANALYTICS,
                formatter=_IllocutionLog(self.conversation_id),
                analyse=True,
                focus=self.capture.goal,
                replayed_finals=self.finals_persisted,
                epoch=self.epoch,
                database=in_database_pool,
                on_logged=lambda: wake_consumers(self.public_id),
            )
            self.next_seq = 0
            async with wakeups.listening(processor_topic(self.public_id)) as bell:
                await self._loop(bell)
        except LiveCapture.DoesNotExist:
            log.info("[%s] live session deleted; its processor stops", self.public_id)
        except sessions.Fenced:
            log.warning(
                "[%s] another process took the session over; this one stops", self.public_id
            )
        except InsufficientCredits:
            await self._end(
                "error",
                {"code": "INSUFFICIENT_CREDITS", "message": "Insufficient credits"},
                Session.Status.FAILED,
            )
        except Exception as exc:
            log.exception(
                "[%s] live processing failed", getattr(self, "conversation_id", self.public_id)
            )
            try:
                await self._end(
                    "error",
                    {"code": "LIVE_ASR_FAILURE", "message": f"Live ASR failed: {exc}"},
                    Session.Status.FAILED,
                )
            except Exception:
                log.exception("[%s] could not record the failure", self.public_id)
        finally:
            if getattr(self, "conversation", None):
                self.conversation.close()
            await asyncio.to_thread(self.lease.release)

    async def _loop(self, bell: wakeups.Bell) -> None:
        while True:
            state = await in_database_pool(self._state)()
            if state.status in (
                Session.Status.COMPLETED,
                Session.Status.FAILED,
                Session.Status.EXPIRED,
            ):
                return
            if state.status == Session.Status.CANCELLED:
                message = f"Session cancelled{': ' + state.reason if state.reason else ''}"
                await self._end(
                    "error",
                    {"code": "STREAM_FAILURE", "message": message},
                    Session.Status.CANCELLED,
                )
                return
            if state.status in captures.INGESTING and state.expires_at <= timezone.now():
                await in_database_pool(captures.mark_expired)(self.capture)
                await self._end(
                    "error", {"code": "STREAM_FAILURE", "message": "Live session expired"}, None
                )
                return
            while self.next_seq < state.next_chunk_seq:
                data = await asyncio.to_thread(
                    captures.chunk_path(self.conversation_id, self.next_seq).read_bytes
                )
                self.next_seq += 1
                await self._audio(self.decoder.push(data))
            await self.conversation.poll()
            if state.status == Session.Status.FINALIZING:
                await self._finish()
                return
            if not await asyncio.to_thread(self.lease.renew):
                return  # lost the lease: another process carries on
            # Woken at once by wake_processor(); the timeout only bounds how late expiry
            # or a missed wake-up is noticed, and grows while the session is quiet.
            await bell.wait(self._poll_interval(state))

    def _poll_interval(self, state: _State) -> float:
        if state.next_chunk_seq != self._last_seen_seq:
            self._last_seen_seq, self._quiet_polls = state.next_chunk_seq, 0
        else:
            self._quiet_polls += 1
        return min(MAX_POLL_SECONDS, POLL_SECONDS * (1 + self._quiet_polls // 4))

    async def _audio(self, samples) -> None:
        if not len(samples):
            return
        if not self.started and not self.finals_persisted:
            await self.conversation.log([("status", {"phase": "processing", "progress": 0.0})])
        self.started = True
        await self.conversation.feed_samples(samples)

    async def _finish(self) -> None:
        await self._audio(self.decoder.flush())
        outcome = await self.conversation.finish()
        result = outcome.result
        await asyncio.to_thread(
            ArtifactStore(self.conversation_id).write_result, result, result.to_dict()
        )
        await self.conversation.log(
            [
                ("summary_update", result.summary),
                ("status", {"phase": "completed", "progress": 1.0}),
            ]
        )
        await self._end("done", {"conversation_id": self.conversation_id}, Session.Status.COMPLETED)

    async def _end(self, name: str, payload: dict[str, Any], status: str | None) -> None:
        def end() -> None:
            events.emit(self.session, name, payload, epoch=self.epoch)
            if status is not None:
                sessions.end_session(self.session, status)

        await in_database_pool(end)()
        await wake_consumers(self.public_id)
