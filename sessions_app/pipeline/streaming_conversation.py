"""One streaming conversation: audio in, paid-for and logged results out.

Every streaming surface (a Bodhi stream, a live capture, a voice call) is a thin user
of this: it feeds audio as it arrives and renders what comes back. The conversation
owns the streaming transcriber, the agents (when analysis is on), the meter and the
session's event log, and keeps one rule for every final: it is charged first and
logged second, in one database trip (services.events.settle), and only then returned
to the surface to send. A final the balance cannot pay for is neither logged nor
returned: InsufficientCredits is raised with `deliverable`, the events before it that
were paid for, so the surface can still deliver them before it ends the stream.

A surface says how its events are worded with a `Formatter` (event-log entries for a
partial, a final, and the agents' update of a final); the conversation decides when
they are written. Partials are logged with the next final, or at the end of the step.

Taking over (a live capture replayed from its stored chunks by another process): the
engine's finals depend only on the audio, so with `replayed_finals=n` the first n
finals come out again identically; they are not billed, logged or returned again,
only fed to the agents so that their context is rebuilt. The writer that was taken
over from may still be running (stalled past its lease): with `epoch`, its charges and
logs are refused (sessions.Fenced) once the new one has claimed the session.
"""

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from channels.db import database_sync_to_async

from billing.products import Product
from billing.services import InsufficientCredits
from sessions_app.agents import ConversationResult
from sessions_app.agents.tracker import TrackerUpdate
from sessions_app.engine import SAMPLE_RATE, Event, PcmStream, StreamingTranscriber, Utterance
from sessions_app.models import Session
from sessions_app.pipeline.conversation import ConversationAnalysis
from sessions_app.services import events
from sessions_app.services.metering import Meter

Produced = list[tuple[str, dict[str, Any]]]
# How the conversation reaches the database: Channels' database_sync_to_async for a
# request's thread, or a pool (see capture_processor.in_database_pool).
DatabaseRunner = Callable[[Callable[..., Any]], Callable[..., Awaitable[Any]]]
SPEAKER = "Speaker_0"  # one voice per stream until streams are diarized


@dataclass(frozen=True, slots=True)
class Final:
    """A final the conversation has paid for and logged."""

    event: Event
    utterance: Utterance
    utterance_id: str
    update: TrackerUpdate | None = None  # the agents' typed result, when analysis is on


@dataclass(slots=True)
class Step:
    """What one feed (or poll) produced: the engine's events in order (speech starts,
    partials and finals, every final paid for), and the finals with their analysis."""

    events: list[Event] = field(default_factory=list)
    finals: list[Final] = field(default_factory=list)


@dataclass(slots=True)
class Outcome(Step):
    """The end of the conversation: the last step, and the agents' conversation result
    (summary, insights, segmentation) when analysis is on."""

    result: ConversationResult | None = None


class Formatter(Protocol):
    """A surface's wording of what the conversation produced, as event-log entries."""

    def partial(self, event: Event) -> Produced: ...

    def final(self, final: Final) -> Produced: ...

    def analysis(self, final: Final) -> Produced: ...


class _AudioLog:
    """The conversation's 16 kHz audio so far, for the agents' per-utterance prosody."""

    def __init__(self) -> None:
        self._data = bytearray()

    def append(self, samples: np.ndarray) -> None:
        self._data += samples.astype(np.float32, copy=False).tobytes()

    def slice(self, speaker: str, start: float, end: float) -> np.ndarray | None:
        audio = np.frombuffer(self._data, dtype=np.float32)
        part = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
        return np.array(part) if len(part) else None


class StreamingConversation:
    def __init__(
        self,
        session: Session,
        transcriber: StreamingTranscriber,
        *,
        product: Product,
        formatter: Formatter,
        analyse: bool = False,
        focus: str = "",
        speech_starts: bool = False,
        bill_audio: bool = True,
        replayed_finals: int = 0,
        epoch: int | None = None,
        database: DatabaseRunner = database_sync_to_async,
        on_logged: Callable[[], Awaitable[None]] | None = None,
    ):
        self.session = session
        self.transcriber = transcriber
        # A surface that bills something else than audio (a voice call: connected time)
        # still logs each final, uncharged.
        self.meter = Meter(session, product) if bill_audio else None
        self.formatter = formatter
        self.replayed_finals = replayed_finals
        # A fenced writer's claim (sessions.claim_writer): once another process claims the
        # session, every charge and log raises sessions.Fenced instead of writing.
        self.epoch = epoch
        # Only a surface that acts on them (barge-in) is handed the engine's speech starts.
        self.speech_starts = speech_starts
        self.segments_finalized = 0
        self._database = database
        self._on_logged = on_logged
        # The stream's own bytes -> 16 kHz converter (WAV header strip, resampling), so
        # that the agents hear exactly the samples the transcriber does.
        self._pcm = PcmStream(transcriber.options.sample_rate)
        self._audio = _AudioLog() if analyse else None
        self.analysis = (
            ConversationAnalysis(session.conversation_id, focus=focus, audio=self._audio.slice)
            if self._audio is not None
            else None
        )

    @property
    def processed_audio(self) -> float:
        return self.transcriber.processed_audio

    async def feed(self, pcm: bytes) -> Step:
        """PCM16LE at the stream's sample rate, any size."""
        return await self.feed_samples(self._pcm.push(pcm))

    async def feed_samples(self, samples: np.ndarray) -> Step:
        """Mono float32 at 16 kHz (decoded audio: no PCM16 round trip)."""
        if not len(samples):
            return await self._settle(self.transcriber.poll())
        if self._audio is not None:
            self._audio.append(samples)
        return await self._settle(await self.transcriber.feed_samples(samples))

    async def poll(self) -> Step:
        """Partials that became ready since the last feed (finals come from feeds)."""
        return await self._settle(self.transcriber.poll())

    async def finish(self) -> Outcome:
        """End of input: the open utterance's final, the audio's last stretch billed,
        and the agents' conversation result."""
        tail = self._pcm.flush()
        if self._audio is not None and len(tail):
            self._audio.append(tail)
        produced = await self.transcriber.feed_samples(tail) if len(tail) else []
        step = await self._settle([*produced, *await self.transcriber.finish()])
        if self.meter is not None:
            await self._database(events.settle)(
                self.session, self.meter, self.processed_audio, "end", [], epoch=self.epoch
            )
        result = await asyncio.to_thread(self.analysis.finish) if self.analysis else None
        return Outcome(step.events, step.finals, result)

    def close(self) -> None:
        """Abandon the stream: queued recognition is cancelled."""
        self.transcriber.close()

    async def log(self, produced: Produced) -> None:
        """The surface's own events (status, errors, the end), through the same log."""
        await self._write(produced)

    # -- each final: charge, log, analyse -------------------------------------------------
    async def _settle(self, produced: list[Event]) -> Step:
        step = Step()
        pending: Produced = []  # partials' entries, logged with the next final
        for event in produced:
            replayed = event.segment < self.replayed_finals
            if event.kind == "speech_start":
                if self.speech_starts and not replayed:
                    step.events.append(event)
                continue
            if event.is_partial:
                if not replayed:
                    pending += self.formatter.partial(event)
                    step.events.append(event)
                continue
            utterance = Utterance(
                speaker=SPEAKER,
                t_start=event.start,
                t_end=event.end,
                text=event.text,
                words=event.words,
                asr_confidence=event.confidence,
            )
            if replayed:  # delivered before this process took over: rebuild the agents only
                if self.analysis is not None:
                    await asyncio.to_thread(self.analysis.add, utterance)
                continue
            utterance_id = self.analysis.number() if self.analysis else ""
            final = Final(event, utterance, utterance_id)
            entries = [*pending, *self.formatter.final(final)]
            pending = []
            try:
                if self.meter is None:
                    await self._database(events.emit_many)(self.session, entries, epoch=self.epoch)
                else:
                    await self._database(events.settle)(
                        self.session,
                        self.meter,
                        self.processed_audio,
                        f"seg{event.segment}",
                        entries,
                        epoch=self.epoch,
                    )
            except InsufficientCredits as exhausted:
                # What was paid for is still delivered before the stream ends.
                exhausted.deliverable = step.events
                raise
            await self._logged()
            self.segments_finalized += 1
            step.events.append(event)
            if self.analysis is not None:
                # The transcript is out as soon as it is paid for; the agents' events follow.
                update = await asyncio.to_thread(self.analysis.analyse, utterance, utterance_id)
                final = dataclasses.replace(final, update=update)
                await self._write(self.formatter.analysis(final))
            step.finals.append(final)
        await self._write(pending)
        return step

    async def _write(self, produced: Produced) -> None:
        if produced:
            await self._database(events.emit_many)(self.session, produced, epoch=self.epoch)
            await self._logged()

    async def _logged(self) -> None:
        if self._on_logged is not None:
            await self._on_logged()
