"""Latency bookkeeping for the streaming benchmarks (not a benchmark itself).

* ``match_latencies``: end of speech (wall clock of the frame/chunk that carried it) ->
  the final that covers it.
* ``engine_baseline``: the same stream fed in process to StreamingTranscriber at
  real-time pace, the raw baseline the HTTP/WS figures are divided by.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import _engine_common as common
from _streams import SR, TestStream, sentence_clips


@dataclass(frozen=True)
class Final:
    start: float  # audio timeline (s)
    end: float
    received: float  # time.monotonic() when the client had it
    text: str = ""


def match_latencies(
    truth: list[tuple[float, float]],
    finals: list[Final],
    send_times: list[float],
    frame: float,
) -> tuple[list[float], int]:
    """For each utterance: the final covering its end of speech (the overlapping final
    that ends last), received time minus the send time of the frame holding that end.
    Returns (latencies, utterances with no final)."""
    latencies, missed = [], 0
    for s, e in truth:
        covering = [f for f in finals if f.start < e and f.end > s]
        if not covering or not send_times:
            missed += 1
            continue
        final = max(covering, key=lambda f: (f.end, -f.received))
        idx = min(len(send_times) - 1, int(e / frame))
        latencies.append(final.received - send_times[idx])
    return latencies, missed


@dataclass
class BaselineResult:
    latencies: list[float]
    missed: int
    finals: list[Final]


def engine_options(model: str = "tiny.en", language: str | None = "en"):
    """What the server builds from the provisioned default config (500 ms endpoint, partials)."""
    from sessions_app.engine import StreamingOptions, TranscribeOptions

    return StreamingOptions(
        sample_rate=SR,
        trailing_silence=0.5,
        partials=True,
        transcribe=TranscribeOptions(model=model, language=language),
    )


def engine_baseline(
    stream: TestStream, frame: float, options=None, rate: int = SR
) -> BaselineResult:
    """StreamingTranscriber in process, fed `frame`-second frames on an absolute real-time
    schedule; same end-of-speech -> final measurement as the HTTP/WS benchmarks.
    `rate`: the sample rate of `stream.audio` (the options' too, when given)."""
    from sessions_app.engine import StreamingTranscriber

    options = options or engine_options()
    warm = StreamingTranscriber(options)  # model, VAD and Whisper warm, off the clock
    warm.feed_sync(common.pcm16(sentence_clips()[1].audio))
    warm.finish_sync()

    transcriber = StreamingTranscriber(options)
    pcm = common.pcm16(stream.audio)
    step = int(frame * rate) * 2
    finals: list[Final] = []
    sends: list[float] = []

    def collect(events) -> None:
        now = time.monotonic()
        for ev in events:
            if ev.is_final:
                finals.append(Final(ev.start, ev.end, now, ev.text))

    t0 = time.monotonic()
    for k, i in enumerate(range(0, len(pcm), step)):
        delay = t0 + k * frame - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sends.append(time.monotonic())
        collect(transcriber.feed_sync(pcm[i : i + step]) + transcriber.poll())
    collect(transcriber.finish_sync())
    latencies, missed = match_latencies(stream.truth, finals, sends, frame)
    return BaselineResult(latencies, missed, finals)
