from __future__ import annotations

import asyncio
import io
import itertools
import time
import wave

import pytest

from sessions_app.engine import (
    EngineOverloaded,
    Event,
    ModelNotAvailable,
    StreamingOptions,
    StreamingTranscriber,
    TranscribeOptions,
)
from tests.support.audio import JFK_REFERENCE, pcm16, words_of

SILENCE_1S = b"\x00\x00" * 16000


def run_stream(pcm: bytes, frame_bytes: int, **kwargs) -> tuple[list[Event], StreamingTranscriber]:
    stream = StreamingTranscriber(StreamingOptions(**kwargs))
    events: list[Event] = []
    for i in range(0, len(pcm), frame_bytes):
        events += stream.feed_sync(pcm[i : i + frame_bytes])
    events += stream.finish_sync()
    return events, stream


def finals(events: list[Event]) -> list[Event]:
    return [e for e in events if e.is_final]


@pytest.fixture(scope="module")
def jfk_finals_20ms(jfk_pcm, model) -> list[Event]:
    return finals(run_stream(jfk_pcm + SILENCE_1S, 640)[0])


def test_streaming_jfk_finals_carry_the_whole_speech(jfk_finals_20ms):
    text = " ".join(e.text for e in jfk_finals_20ms)
    ref = words_of(JFK_REFERENCE)
    got = words_of(text)
    # tiny.en on isolated phrases may differ by a word or two from the batch transcript.
    assert len(set(ref) - set(got)) <= 2, text
    assert [e.segment for e in jfk_finals_20ms] == list(range(len(jfk_finals_20ms)))
    assert len(jfk_finals_20ms) >= 2


def test_streaming_finals_have_bodhi_segment_meta(jfk_finals_20ms):
    prev_end = 0.0
    for e in jfk_finals_20ms:
        assert e.tokens == tuple(w.word for w in e.words) and e.tokens
        assert len(e.timestamps) == len(e.tokens)
        assert all(0.0 <= t <= e.end - e.start + 1e-3 for t in e.timestamps)
        assert e.start + e.timestamps[-1] == pytest.approx(e.end, abs=0.01)
        assert 0.0 < e.confidence <= 1.0
        assert e.start >= prev_end - 1e-3 and e.end > e.start
        prev_end = e.end
        assert e.processed_audio >= e.end


@pytest.mark.parametrize("frame_ms", [100, 1000])
def test_streaming_in_20ms_100ms_and_1s_frames_gives_the_same_finals(
    jfk_pcm, jfk_finals_20ms, frame_ms
):
    got = finals(run_stream(jfk_pcm + SILENCE_1S, frame_ms * 32)[0])
    key = [(e.segment, e.text, e.start, e.end, e.tokens, e.timestamps) for e in got]
    assert key == [
        (e.segment, e.text, e.start, e.end, e.tokens, e.timestamps) for e in jfk_finals_20ms
    ]


def test_end_of_input_flushes_the_open_utterance(jfk_16k, model):
    # Cut mid-speech: no trailing silence, the last words only come out at finish().
    pcm = pcm16(jfk_16k[: int(9.5 * 16000)])
    stream = StreamingTranscriber()
    before = finals(stream.feed_sync(pcm))
    after = finals(stream.finish_sync())
    assert len(after) == 1
    assert after[0].segment == len(before)
    assert "ask" in after[0].text.lower()
    with pytest.raises(RuntimeError):
        stream.feed_sync(b"\x00\x00")


def test_final_is_emitted_after_the_trailing_silence(jfk_16k, model):
    speech = pcm16(jfk_16k[: int(2.3 * 16000)])  # "And so my fellow Americans" + pause
    stream = StreamingTranscriber(StreamingOptions(trailing_silence=0.8, partials=False))
    assert finals(stream.feed_sync(speech)) == []
    assert finals(stream.feed_sync(b"\x00\x00" * int(16000 * 0.3))) == []  # not yet
    got = finals(stream.feed_sync(b"\x00\x00" * int(16000 * 0.6)))
    assert len(got) == 1 and "americans" in got[0].text.lower()
    assert stream.finish_sync() == []


def test_silence_only_stream_gives_no_events(model):
    events, _ = run_stream(SILENCE_1S * 3, 3200)
    assert events == []


def test_monologue_is_cut_at_max_utterance_length(jfk_pcm, model):
    events, _ = run_stream(jfk_pcm, 3200, max_utterance=5.0, trailing_silence=2.0, partials=False)
    got = finals(events)
    assert len(got) >= 2
    assert all(e.end - e.start <= 5.5 for e in got)


def test_8khz_stream_with_wav_header_is_transcribed(fixtures, model):
    from sessions_app.engine import decode_file

    audio = decode_file(fixtures / "speech.ogg").mono()[::2]  # 16 kHz -> 8 kHz (test only)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(pcm16(audio))
    events, stream = run_stream(buf.getvalue() + b"\x00" * 16000, 320, sample_rate=8000)
    assert stream.header_stripped
    assert "thank you" in " ".join(e.text for e in finals(events)).lower()


def test_partials_are_cumulative_and_precede_the_final(jfk_16k, idle_engine):
    stream = StreamingTranscriber(StreamingOptions(partial_interval=0.3))
    pcm = pcm16(jfk_16k[: int(2.3 * 16000)]) + SILENCE_1S
    events: list[Event] = []
    for i in range(0, len(pcm), 3200):  # 100 ms frames, waiting for each partial
        events += stream.feed_sync(pcm[i : i + 3200])
        if stream._partial is not None:
            stream._partial[2].result(5)
    events += stream.finish_sync()
    partials = [e for e in events if e.kind == "partial"]
    assert partials, "expected at least one partial"
    assert events[-1].is_final and events[-1].segment == 0
    assert all(p.segment == 0 and p.text for p in partials)
    stable = [p.stable_text for p in partials]
    assert all(b.startswith(a) for a, b in itertools.pairwise(stable))
    assert all(p.text.startswith(p.stable_text) for p in partials)


def test_async_api_feeds_without_blocking(jfk_pcm, model):
    async def main():
        stream = StreamingTranscriber()
        events = []
        for i in range(0, len(jfk_pcm), 16000):
            events += await stream.feed(jfk_pcm[i : i + 16000])
        events += await stream.finish()
        return events

    events = asyncio.run(main())
    assert "country" in " ".join(e.text for e in finals(events)).lower()


def test_final_refused_with_engine_overloaded_when_queue_is_full(jfk_16k, full_scheduler):
    stream = StreamingTranscriber(
        StreamingOptions(partials=False), scheduler=full_scheduler.scheduler
    )
    with pytest.raises(EngineOverloaded):
        stream.feed_sync(pcm16(jfk_16k[: int(2.3 * 16000)]) + SILENCE_1S)


def test_patient_stream_gets_its_final_late_instead_of_refused(jfk_16k, full_scheduler):
    import threading

    stream = StreamingTranscriber(
        StreamingOptions(partials=False, patient=True), scheduler=full_scheduler.scheduler
    )
    threading.Timer(0.5, full_scheduler.gate.set).start()  # the engine frees up later
    events = stream.feed_sync(pcm16(jfk_16k[: int(2.3 * 16000)]) + SILENCE_1S)
    assert "americans" in " ".join(e.text for e in finals(events)).lower()


def test_unknown_model_refuses_the_stream():
    with pytest.raises(ModelNotAvailable, match=r"^model 'xx-general-v2-8khz' is not available$"):
        StreamingTranscriber(
            StreamingOptions(transcribe=TranscribeOptions(model="xx-general-v2-8khz"))
        )


def test_stream_times_are_relative_to_stream_start(jfk_16k, model):
    pcm = SILENCE_1S * 2 + pcm16(jfk_16k[: int(2.3 * 16000)]) + SILENCE_1S
    got = finals(run_stream(pcm, 3200)[0])
    assert len(got) == 1 and 2.0 <= got[0].start <= 2.5
    assert time.monotonic() > 0
