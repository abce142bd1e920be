"""The worker behind one live session: chunks on disk in, analytics events out.

Exactly one process runs a session's processor, the holder of its lease (see
services.leases). Any process that accepts a chunk, a control action or an SSE
consumer calls `ensure_running`; if the holder died, its lease runs out and the
caller (or with LIVE_WORKERS, a live worker) takes over. A new processor replays the stored chunks from the start: the
engine's finals depend only on the audio, so the finals already persisted come
out again identically and are skipped (not re-sent, not re-billed), and the
conversation's agents are rebuilt from them. Nothing acknowledged is lost.
"""

import asyncio
import contextvars
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from channels.db import DatabaseSyncToAsync
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from billing.products import Product
from billing.services import InsufficientCredits
from sessions_app.engine import (
    SAMPLE_RATE,
    Event,
    StreamingOptions,
    StreamingTranscriber,
    TranscribeOptions,
    Utterance,
)
from sessions_app.models import LiveCapture, Session, SessionEvent
from sessions_app.pipeline.capture_audio import CaptureAudioDecoder
from sessions_app.pipeline.conversation import ConversationAnalysis
from sessions_app.services import captures, events, sessions, wakeups
from sessions_app.services.artifacts import ArtifactStore
from sessions_app.services.leases import Lease
from sessions_app.services.metering import Meter

log = logging.getLogger("parlance.live")

LEASE_SECONDS = 10
POLL_SECONDS = 0.5
# Where servers hand live sessions to `manage.py live_worker` processes (LIVE_WORKERS).
WORK_CHANNEL = "live-work"
MAX_POLL_SECONDS = 5.0
HAND_OVER_RECHECK = 1.0
_running: dict[str, asyncio.Task] = {}
_checked: dict[str, float] = {}  # session -> when this process last checked its worker


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


def _owner_lease(public_id: str) -> Lease:
    return Lease(f"live-owner:{public_id}", LEASE_SECONDS)


async def ensure_running(public_id: str) -> None:
    """Make sure some process is processing the session: with LIVE_WORKERS a live
    worker (the one holding its lease, else the next to take the work), else this one."""
    if not settings.LIVE_WORKERS:
        await start_here(public_id)
        return
    # Chunks arrive ten times a second; once a second is soon enough to notice that a
    # worker is gone (its lease outlives it by seconds anyway).
    now = time.monotonic()
    if now - _checked.get(public_id, -HAND_OVER_RECHECK) < HAND_OVER_RECHECK:
        return
    if len(_checked) > 10_000:
        _checked.clear()
    _checked[public_id] = now
    if not await asyncio.to_thread(_owner_lease(public_id).taken):
        try:
            await get_channel_layer().send(
                WORK_CHANNEL, {"type": "live.process", "session_id": public_id}
            )
        except ChannelFull:
            # The workers' next scan of open sessions finds it all the same.
            log.warning("[%s] live workers are behind; the session waits for a scan", public_id)


def running_here() -> list[asyncio.Task]:
    return [task for task in _running.values() if not task.done()]


async def start_here(public_id: str) -> None:
    """Process the session in this process, unless this or another already does."""
    task = _running.get(public_id)
    if task is not None and not task.done():
        return
    lease = _owner_lease(public_id)
    if not await asyncio.to_thread(lease.acquire):
        return  # another process holds it; a crashed holder's lease runs out soon
    # A fresh context: the task outlives the request that started it, and must not
    # inherit that request's sync-thread executor, which closes when it ends.
    _running[public_id] = asyncio.create_task(
        CaptureProcessor(public_id, lease).run(), context=contextvars.Context()
    )


@dataclass
class _State:
    status: str
    next_chunk_seq: int
    expires_at: Any
    reason: str


class _AudioLog:
    """The session's 16 kHz audio so far, for the agents' per-utterance prosody."""

    def __init__(self) -> None:
        self._data = bytearray()

    def append(self, samples: np.ndarray) -> None:
        self._data += samples.astype(np.float32, copy=False).tobytes()

    def slice(self, speaker: str, start: float, end: float) -> np.ndarray | None:
        audio = np.frombuffer(self._data, dtype=np.float32)
        part = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
        return np.array(part) if len(part) else None


def _pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


class CaptureProcessor:
    def __init__(self, public_id: str, lease: Lease):
        self.public_id = public_id
        self.lease = lease
        self.partials = 0
        self.started = False
        self._last_seen_seq, self._quiet_polls = -1, 0

    # -- database --------------------------------------------------------------
    def _load(self) -> None:
        capture = LiveCapture.objects.select_related("session__config", "session__customer").get(
            public_id=self.public_id
        )
        self.capture, self.session = capture, capture.session
        config = self.session.config
        self.meter = Meter(self.session, Product.ANALYTICS)
        persisted = SessionEvent.objects.filter(
            session=self.session, type="final_transcript"
        ).count()
        self.finals_persisted = persisted
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

    def _emit(self, produced: list[tuple[str, dict[str, Any]]]) -> None:
        events.emit_many(self.session, produced)

    # -- the loop ----------------------------------------------------------------
    async def run(self) -> None:
        try:
            await in_database_pool(self._load)()
            self.conversation = self.session.conversation_id
            self.audio = _AudioLog()
            self.analysis = ConversationAnalysis(
                self.conversation, focus=self.capture.goal, audio=self.audio.slice
            )
            self.decoder = CaptureAudioDecoder(self.capture.suffix)
            self.transcriber = await asyncio.to_thread(StreamingTranscriber, self.options)
            self.next_seq = 0
            async with wakeups.listening(processor_topic(self.public_id)) as bell:
                await self._loop(bell)
        except LiveCapture.DoesNotExist:
            log.info("[%s] live session deleted; its processor stops", self.public_id)
        except InsufficientCredits:
            await self._end(
                "error",
                {"code": "INSUFFICIENT_CREDITS", "message": "Insufficient credits"},
                Session.Status.FAILED,
            )
        except Exception as exc:
            log.exception(
                "[%s] live processing failed", getattr(self, "conversation", self.public_id)
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
            if getattr(self, "transcriber", None):
                self.transcriber.close()
            await asyncio.to_thread(self.lease.release)
            _running.pop(self.public_id, None)

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
                    captures.chunk_path(self.conversation, self.next_seq).read_bytes
                )
                self.next_seq += 1
                await self._audio(self.decoder.push(data))
            await self._publish(self.transcriber.poll())
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

    async def _audio(self, samples: np.ndarray) -> None:
        if not len(samples):
            return
        first, self.started = not self.started, True
        self.audio.append(samples)
        produced = await self.transcriber.feed(_pcm16(samples))
        if first and not self.finals_persisted:
            await self._send([("status", {"phase": "processing", "progress": 0.0})])
        await self._publish(produced)

    async def _publish(self, produced: list[Event]) -> None:
        partials: list[tuple[str, dict[str, Any]]] = []
        for event in produced:
            replayed = event.segment < self.finals_persisted
            if not event.is_final:
                if not replayed:
                    self.partials += 1
                    partials.append(("partial_transcript", self._partial(event)))
                continue
            utterance = _utterance(event)
            if replayed:  # sent before this process took over; rebuild the agents' state
                await asyncio.to_thread(self.analysis.add, utterance)
                continue
            # The transcript goes out as soon as it is paid for; the agents' events follow.
            transcript = self.analysis.transcript(utterance)
            await self._bill_and_send(event.segment, [*partials, transcript])
            partials = []
            utterance_id = transcript[1]["utterance_id"]
            await self._send(
                await asyncio.to_thread(self.analysis.analyse, utterance, utterance_id)
            )
        if partials:
            await self._send(partials)

    def _partial(self, event: Event) -> dict[str, Any]:
        return {
            "partial_id": f"{self.conversation}_partial_{self.partials:05d}",
            "utterance_id": f"{self.conversation}_utt_{event.segment:04d}",
            "text": event.text,
            "stable_text": event.stable_text,
            "is_final": False,
        }

    async def _bill_and_send(
        self, segment: int, produced: list[tuple[str, dict[str, Any]]]
    ) -> None:
        upto = self.transcriber.processed_audio

        def work() -> None:
            self.meter.charge_until(upto, marker=f"seg{segment}")
            events.emit_many(self.session, produced)

        await in_database_pool(work)()
        await wake_consumers(self.public_id)

    async def _send(self, produced: list[tuple[str, dict[str, Any]]]) -> None:
        await in_database_pool(self._emit)(produced)
        await wake_consumers(self.public_id)

    async def _finish(self) -> None:
        await self._audio(self.decoder.flush())
        await self._publish(await self.transcriber.finish())
        await in_database_pool(self.meter.charge_until)(
            self.transcriber.processed_audio, marker="end"
        )
        result = await asyncio.to_thread(self.analysis.finish)
        await asyncio.to_thread(_write_artifacts, self.conversation, result)
        await self._send(
            [
                ("summary_update", result.summary),
                ("status", {"phase": "completed", "progress": 1.0}),
            ]
        )
        await self._end("done", {"conversation_id": self.conversation}, Session.Status.COMPLETED)

    async def _end(self, name: str, payload: dict[str, Any], status: str | None) -> None:
        def end() -> None:
            events.emit(self.session, name, payload)
            if status is not None:
                sessions.end_session(self.session, status)

        await in_database_pool(end)()
        await wake_consumers(self.public_id)


def _utterance(event: Event) -> Utterance:
    return Utterance(
        speaker="Speaker_0",
        t_start=event.start,
        t_end=event.end,
        text=event.text,
        words=event.words,
        asr_confidence=event.confidence,
    )


def _write_artifacts(conversation_id: str, result) -> None:
    store = ArtifactStore(conversation_id)
    for name, payload in (
        ("timeline.json", result.timeline),
        ("summary.json", result.summary),
        ("insights.json", result.insights),
        ("segmentation.json", result.segmentation),
        ("agent_outputs.json", result.agent_results),
        ("analysis.json", result.to_dict()),
    ):
        store.write_json(name, payload)
