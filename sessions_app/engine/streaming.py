"""Streaming transcription: PCM frames in, partial and final events out.

Per stream: ``PcmStream`` (header strip + resample) -> ``SileroStream`` + ``EndpointState``
(utterance boundaries) -> Whisper on the shared scheduler.

* Finals: one per utterance, at ``trailing_silence`` after the end of speech, at
  ``max_utterance`` seconds into a monologue (cut at its quietest recent window), and
  at end of input. A final's audio span depends only on the audio, never on frame
  sizes or timing, so any chunking of the same audio gives the same finals.
* Speculative finals: once ``speculate_after`` of silence has passed, the final's
  exact audio span is already known, so recognition starts then (FINAL priority)
  instead of after the whole trailing silence. If speech resumes the result is thrown
  away; otherwise it is released when the endpoint is confirmed. This hides most of
  Whisper's fixed ~0.4 s per call behind the endpoint wait.
* Speech starts: a ``speech_start`` event at the VAD's start edge of every utterance,
  before any partial or final of it. It comes from the endpointer, not from Whisper,
  so it costs nothing and is never shed under load: barge-in can rely on it where it
  could not rely on partials.
* Partials: best effort. At most one in flight per stream, spaced by
  ``partial_interval`` of audio (stretched when the scheduler is busy), PARTIAL
  priority (shed first). Text is cumulative for the open segment; words agreed by two
  consecutive hypotheses become ``stable_text``, which only grows.

Not re-entrant: one caller at a time per stream (a WebSocket consumer is).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import re
import time
from dataclasses import dataclass, field

import numpy as np

from .asr import Segment, recognize
from .audio import SAMPLE_RATE
from .buffer import AudioBuffer
from .endpointing import WINDOW, WINDOW_SECONDS, EndpointState, SileroStream
from .errors import EngineOverloaded, PartialDropped
from .models import load_spec, resolve_model
from .pcm import PcmStream
from .scheduler import Priority, Scheduler, get_scheduler
from .types import Event, TranscribeOptions

_NORM = re.compile(r"[^\w']+")


@dataclass(slots=True)
class StreamingOptions:
    sample_rate: int = SAMPLE_RATE
    trailing_silence: float = 0.5  # endpoint; Bodhi clients pass 0.44-1.2
    max_utterance: float = 18.0  # monologues are cut here
    partials: bool = True
    partial_interval: float = 0.5  # seconds of audio between partial requests
    first_partial_after: float = 0.3  # seconds of speech before the first partial
    preroll: float = 0.2  # audio kept before the detected speech start
    pad: float = 0.2  # audio kept after the detected speech end
    speculate_after: float = 0.2  # silence after which the final starts computing
    partial_beam_size: int = 1
    # Greedy finals: same WER as beam 5 on the WER set, ~15 % less compute per final,
    # which is what bounds the number of concurrent streams. None: transcribe.beam_size.
    final_beam_size: int | None = 1
    # A stream whose audio is stored (live capture) may fall behind and catch up: under
    # load its finals come late instead of being refused (which ends a Bodhi stream).
    patient: bool = False
    transcribe: TranscribeOptions = field(default_factory=TranscribeOptions)

    def __post_init__(self) -> None:
        self.trailing_silence = min(2.0, max(0.2, float(self.trailing_silence)))
        self.max_utterance = min(30.0, max(5.0, float(self.max_utterance)))


@dataclass(slots=True)
class _Final:
    utt: int
    start: int
    end: int
    future: concurrent.futures.Future
    submitted: float


def _norm(word: str) -> str:
    return _NORM.sub("", word.lower())


class StreamingTranscriber:
    """One live stream. Async API: ``await feed(pcm)`` (PCM16LE at ``sample_rate``) or
    ``await feed_samples(float32 at 16 kHz)`` / ``await finish()``; sync API (tests,
    benchmarks, threads): ``feed_sync`` / ``finish_sync``."""

    def __init__(
        self, options: StreamingOptions | None = None, *, scheduler: Scheduler | None = None
    ) -> None:
        self.options = opts = options or StreamingOptions()
        self._spec = resolve_model(opts.transcribe.model)  # ModelNotAvailable before audio
        self._model = load_spec(self._spec)
        self._language = (
            opts.transcribe.language
            or self._spec.language
            or ("en" if self._spec.english_only else None)
        )
        self._scheduler = scheduler or get_scheduler()
        self._pcm = PcmStream(opts.sample_rate)
        self._vad = SileroStream()
        self._ep = EndpointState(opts.trailing_silence)
        self._buf = AudioBuffer()
        self._preroll = int(opts.preroll * SAMPLE_RATE)
        self.set_trailing_silence(opts.trailing_silence)
        self._max_samples = int(opts.max_utterance * SAMPLE_RATE)
        self._utt = 0  # ordinal of the open utterance (1-based; 0 = none yet)
        self._utt_start = 0
        self._utt_probs: list[tuple[int, float]] = []  # (window, prob) of the open utterance
        self._floor = 0  # no utterance may start before the previous one's end
        self._speculative: _Final | None = None
        self._partial: tuple[int, int, concurrent.futures.Future] | None = None
        self._next_partial_at = 0
        self._partial_shown: set[int] = set()
        self._stable: list[str] = []
        self._last_hyp: list[str] = []
        self._segment = 0
        self._finished = False
        self.partials_requested = 0
        self.partials_dropped = 0

    # -- public API ------------------------------------------------------------------
    @property
    def processed_audio(self) -> float:
        return self._buf.end / SAMPLE_RATE

    @property
    def header_stripped(self) -> bool:
        return self._pcm.header_stripped

    async def feed(self, data: bytes) -> list[Event]:
        """Feed PCM16LE bytes (any size); returns speech starts, finals reached and
        partials ready, in order."""
        return await self._resolve_async(self._advance(self._pcm.push(data)))

    async def feed_samples(self, samples: np.ndarray) -> list[Event]:
        """Feed mono float32 samples at 16 kHz (already decoded audio: no PCM16 round
        trip); the same events as ``feed``."""
        return await self._resolve_async(self._advance(_mono16k(samples)))

    async def finish(self) -> list[Event]:
        """End of input: flush the open utterance; returns the remaining events."""
        return await self._resolve_async(self._flush())

    def feed_sync(self, data: bytes) -> list[Event]:
        return self._resolve_sync(self._advance(self._pcm.push(data)))

    def feed_samples_sync(self, samples: np.ndarray) -> list[Event]:
        return self._resolve_sync(self._advance(_mono16k(samples)))

    def finish_sync(self) -> list[Event]:
        return self._resolve_sync(self._flush())

    def poll(self) -> list[Event]:
        """Partials that became ready since the last call (never blocks)."""
        return self._collect_partial()

    def set_trailing_silence(self, seconds: float) -> None:
        """The endpoint's silence from now on (a voice call's turn detection may change
        mid-call); clamped like StreamingOptions'. Finals after a change end where the
        new setting puts them."""
        opts = self.options
        opts.trailing_silence = min(2.0, max(0.2, float(seconds)))
        self._ep.end_windows = max(1, round(opts.trailing_silence / WINDOW_SECONDS))
        self._pad = int(min(opts.pad, opts.trailing_silence) * SAMPLE_RATE)
        spec_windows = math.ceil(max(opts.speculate_after, opts.pad) / WINDOW_SECONDS)
        self._spec_windows = spec_windows if spec_windows < self._ep.end_windows else 0

    def close(self) -> None:
        """Abandon the stream (client went away): cancel queued work."""
        for pending in (self._speculative, self._partial):
            if pending is not None:
                fut = pending.future if isinstance(pending, _Final) else pending[2]
                fut.cancel()
        self._speculative = self._partial = None
        self._finished = True

    # -- core state machine (no waiting) --------------------------------------------------
    def _submit_final(self, start: int, end: int) -> _Final:
        audio = self._buf.get(start, end)
        opts, model, lang = self.options.transcribe, self._model, self._language

        beam = self.options.final_beam_size

        def job() -> list[Segment]:
            return recognize(
                model, audio, opts, language=lang, offset=start / SAMPLE_RATE, beam_size=beam
            )

        # Unless patient, may raise EngineOverloaded.
        fut = self._scheduler.submit(job, Priority.FINAL, patient=self.options.patient)
        return _Final(self._utt, start, end, fut, time.monotonic())

    def _final_for(self, start: int, end: int) -> _Final:
        spec = self._speculative
        self._speculative = None
        if spec is not None and spec.start == start and spec.end == end:
            return spec
        if spec is not None:
            spec.future.cancel()
        return self._submit_final(start, end)

    def _cancel_speculative(self) -> None:
        if self._speculative is not None:
            self._speculative.future.cancel()
            self._speculative = None

    def _scheduler_idle(self) -> bool:
        # Speculate only with a free worker: under load a wasted guess (speech resumed)
        # would delay other streams' real finals.
        sched = self._scheduler
        return sched.running < sched.workers and sched.depth == 0

    def _open_utterance(self, start: int) -> None:
        self._utt += 1
        self._utt_start = max(start, self._floor)
        self._utt_probs = []
        self._stable, self._last_hyp = [], []
        self._next_partial_at = self._utt_start + int(
            self.options.first_partial_after * SAMPLE_RATE
        )

    def _advance(self, samples: np.ndarray) -> list[_Final | Event]:
        """Run the endpointer over new audio: speech starts (ready now) and the finals
        submitted (to resolve), in the order they happened."""
        if self._finished:
            raise RuntimeError("stream already finished")
        finals: list[_Final | Event] = []
        if samples.size == 0:
            return finals
        self._buf.append(samples)
        for prob in self._vad.push(samples):
            w = self._ep.window
            window_end = (w + 1) * WINDOW
            event = self._ep.update(float(prob))
            if event is not None and event.kind == "start":
                self._open_utterance(event.sample - self._preroll)
                finals.append(self._speech_start(event.sample))
            elif event is not None and event.kind == "end":
                end = min(event.sample + self._pad, window_end)
                finals.append(self._final_for(self._utt_start, end))
                self._floor = end
            if self._ep.in_speech:
                self._utt_probs.append((w, float(prob)))
                self._in_speech_window(window_end, finals)
        if self._ep.in_speech:
            self._buf.trim(self._utt_start)
        else:
            # Keep enough for the pre-roll of a speech start detected a few windows late
            # (and for the unscored tail): same spans whatever the frame size.
            self._buf.trim(self._buf.end - self._preroll - (self._ep.start_windows + 2) * WINDOW)
        return finals

    def _speech_start(self, edge: int) -> Event:
        # When the VAD heard the speech begin, not the pre-rolled start the final's audio
        # begins at: barge-in measures how long someone has been speaking from here.
        start = round(edge / SAMPLE_RATE, 3)
        return Event(
            kind="speech_start",
            segment=self._segment,
            text="",
            start=start,
            end=start,
            processed_audio=round(self.processed_audio, 3),
        )

    def _in_speech_window(self, window_end: int, finals: list[_Final | Event]) -> None:
        ep = self._ep
        if ep.silence_windows == 0:
            self._cancel_speculative()  # speech resumed: the guess is void
        elif (
            self._spec_windows
            and ep.silence_windows == self._spec_windows
            and self._scheduler_idle()
        ):
            try:
                self._speculative = self._submit_final(
                    self._utt_start, ep.speech_end_sample + self._pad
                )
            except EngineOverloaded:
                self._speculative = None  # retried for real at the endpoint
        if window_end - self._utt_start >= self._max_samples:
            # Monologue: cut at the least speech-like window of the last 4 s.
            recent = [
                (p, wi)
                for wi, p in self._utt_probs
                if (wi + 1) * WINDOW > window_end - 4 * SAMPLE_RATE
            ]
            _, cut_w = min(recent)
            cut = (cut_w + 1) * WINDOW
            self._cancel_speculative()
            finals.append(self._submit_final(self._utt_start, cut))
            self._floor = cut
            self._open_utterance(cut)
            return
        if self.options.partials and ep.silence_windows == 0:
            self._maybe_partial(window_end)

    def _maybe_partial(self, window_end: int) -> None:
        if window_end < self._next_partial_at or self._partial is not None:
            return
        sched = self._scheduler
        # Adaptive cadence: the busier the engine, the rarer the partials...
        interval = self.options.partial_interval * (1.0 + 2.0 * sched.busy())
        self._next_partial_at = window_end + int(interval * SAMPLE_RATE)
        self.partials_requested += 1
        # ...and a partial only takes capacity nobody else needs: nothing queued and a
        # worker left free for finals. A running partial cannot be preempted (~0.4 s).
        if sched.depth > 0 or sched.running >= max(1, sched.workers - 1):
            self.partials_dropped += 1
            return
        audio = self._buf.get(self._utt_start, window_end)
        opts, model, lang = self.options.transcribe, self._model, self._language
        beam = self.options.partial_beam_size

        def job() -> list[Segment]:
            return recognize(
                model, audio, opts, language=lang, beam_size=beam, word_timestamps=False
            )

        try:
            fut = sched.submit(job, Priority.PARTIAL)
        except (PartialDropped, EngineOverloaded):
            self.partials_dropped += 1
            return
        self._partial = (self._utt, window_end, fut)

    def _flush(self) -> list[_Final | Event]:
        finals = self._advance(self._pcm.flush())
        if self._ep.in_speech:
            total = self._buf.end
            end = (
                total
                if self._ep.silence_windows == 0
                else min(total, self._ep.speech_end_sample + self._pad)
            )
            finals.append(self._final_for(self._utt_start, end))
            self._ep.in_speech = False
        self._cancel_speculative()
        if self._partial is not None:
            self._partial[2].cancel()
            self._partial = None
        self._finished = True
        return finals

    # -- turning futures into events ---------------------------------------------------
    def _final_event(self, final: _Final, segments: list[Segment]) -> Event | None:
        words = tuple(w for s in segments for w in s.words)
        text = " ".join(s.text for s in segments).strip()
        if not text and final.utt not in self._partial_shown:
            return None  # VAD fired on a noise: nothing was shown, so nothing to close
        start = final.start / SAMPLE_RATE
        end = final.end / SAMPLE_RATE
        if words:
            start, end = min(start, words[0].start), max(words[-1].end, start)
        conf = (
            float(np.mean([w.confidence for w in words]))
            if words
            else (float(np.mean([s.confidence for s in segments])) if segments else 0.0)
        )
        event = Event(
            kind="final",
            segment=self._segment,
            text=text,
            start=round(float(start), 3),
            end=round(float(end), 3),
            stable_text=text,
            words=words,
            tokens=tuple(w.word for w in words),
            timestamps=tuple(round(max(0.0, float(w.end) - float(start)), 3) for w in words),
            confidence=round(conf, 4),
            processed_audio=round(self.processed_audio, 3),
            request_time=round(time.monotonic() - final.submitted, 3),
        )
        self._segment += 1
        return event

    def _collect_partial(self) -> list[Event]:
        if self._partial is None or not self._partial[2].done():
            return []
        utt, end, fut = self._partial
        self._partial = None
        if fut.cancelled():
            return []
        exc = fut.exception()
        if isinstance(exc, (PartialDropped, EngineOverloaded)):
            self.partials_dropped += 1
            return []
        if exc is not None:
            raise exc
        if utt != self._utt or not self._ep.in_speech:
            return []  # its utterance is already final
        # Whisper marks audio cut mid-word with "..."; that is not part of the text.
        hyp = [w.rstrip(".…") or w for w in " ".join(s.text for s in fut.result()).split()]
        if not hyp:
            return []
        stable = self._stable
        n = 0
        while n < min(len(hyp), len(self._last_hyp)) and _norm(hyp[n]) == _norm(self._last_hyp[n]):
            n += 1
        if n > len(stable) and [_norm(w) for w in hyp[: len(stable)]] == [_norm(w) for w in stable]:
            # Keep the stable words exactly as first shown: only append, never respell.
            self._stable = stable = stable + hyp[len(stable) : n]
        self._last_hyp = hyp
        words = stable + hyp[len(stable) :]
        self._partial_shown.add(utt)
        start = self._utt_start / SAMPLE_RATE
        return [
            Event(
                kind="partial",
                segment=self._segment,
                text=" ".join(words),
                start=round(start, 3),
                end=round(end / SAMPLE_RATE, 3),
                stable_text=" ".join(stable),
                processed_audio=round(self.processed_audio, 3),
            )
        ]

    async def _resolve_async(self, steps: list[_Final | Event]) -> list[Event]:
        events: list[Event] = []
        for step in steps:
            if isinstance(step, Event):
                events.append(step)
            elif (
                ev := self._final_event(step, await asyncio.wrap_future(step.future))
            ) is not None:
                events.append(ev)
        events.extend(self._collect_partial())
        return events

    def _resolve_sync(self, steps: list[_Final | Event]) -> list[Event]:
        events: list[Event] = []
        for step in steps:
            if isinstance(step, Event):
                events.append(step)
            elif (ev := self._final_event(step, step.future.result())) is not None:
                events.append(ev)
        events.extend(self._collect_partial())
        return events


def _mono16k(samples: np.ndarray) -> np.ndarray:
    if samples.ndim != 1:
        raise ValueError("feed_samples takes mono audio (a 1-D array)")
    return samples.astype(np.float32, copy=False)
