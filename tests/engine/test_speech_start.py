"""The engine says when speech starts (for barge-in) and takes float32 audio as it is."""

from __future__ import annotations

import numpy as np

from sessions_app.engine import (
    Event,
    StreamingOptions,
    StreamingTranscriber,
    pcm16_to_float32,
)
from tests.support.audio import pcm16

SILENCE = np.zeros(16000, dtype=np.float32)


def _two_utterances(jfk_16k: np.ndarray) -> np.ndarray:
    first, second = jfk_16k[: int(2.3 * 16000)], jfk_16k[int(3.2 * 16000) : int(6.0 * 16000)]
    return np.concatenate([SILENCE, first, SILENCE, SILENCE, second, SILENCE])


def _feed(stream: StreamingTranscriber, samples: np.ndarray, frame: int = 1600) -> list[Event]:
    events: list[Event] = []
    for i in range(0, len(samples), frame):
        events += stream.feed_samples_sync(samples[i : i + frame])
    return events + stream.finish_sync()


def test_every_utterance_opens_with_a_speech_start_before_its_partials_and_final(
    jfk_16k, idle_engine
):
    events = _feed(StreamingTranscriber(StreamingOptions()), _two_utterances(jfk_16k))
    finals = [e for e in events if e.is_final]
    assert len(finals) >= 2
    opened: set[int] = set()
    for event in events:
        if event.kind == "speech_start":
            opened.add(event.segment)
        else:  # nothing of an utterance comes before its start
            assert event.segment in opened, f"{event.kind} of segment {event.segment} came first"
    for final in finals:
        start = next(e for e in events if e.kind == "speech_start" and e.segment == final.segment)
        # At the speech's start as the VAD heard it: after the final's pre-rolled start.
        assert final.start - 0.3 <= start.start - 0.2 <= final.start + 0.3
    first_start = next(e for e in events if e.kind == "speech_start")
    assert 0.8 <= first_start.start <= 1.6  # one second of silence came first


def test_speech_start_is_sent_even_when_the_engine_sheds_everything_else(jfk_16k, full_scheduler):
    stream = StreamingTranscriber(StreamingOptions(), scheduler=full_scheduler.scheduler)
    events: list[Event] = []
    speech = np.concatenate([SILENCE, jfk_16k[: int(2.0 * 16000)]])  # no endpoint yet
    for i in range(0, len(speech), 1600):
        events += stream.feed_samples_sync(speech[i : i + 1600])
    assert [e.kind for e in events] == ["speech_start"]
    assert stream.partials_dropped >= 1  # the partials were shed, the start was not


def test_float32_samples_give_the_same_finals_as_the_same_audio_in_pcm16(jfk_16k, idle_engine):
    pcm = pcm16(np.concatenate([jfk_16k, SILENCE]))
    audio = pcm16_to_float32(pcm)  # the very samples the PCM16 path decodes
    from_samples = [e for e in _feed(StreamingTranscriber(StreamingOptions()), audio) if e.is_final]
    stream = StreamingTranscriber(StreamingOptions())
    from_pcm: list[Event] = []
    for i in range(0, len(pcm), 3200):
        from_pcm += stream.feed_sync(pcm[i : i + 3200])
    from_pcm = [e for e in from_pcm + stream.finish_sync() if e.is_final]
    assert [e.text for e in from_samples] == [e.text for e in from_pcm]
    assert [(e.start, e.end) for e in from_samples] == [(e.start, e.end) for e in from_pcm]


def test_feed_samples_refuses_more_than_one_channel(model):
    stream = StreamingTranscriber(StreamingOptions())
    try:
        stream.feed_samples_sync(np.zeros((2, 1600), dtype=np.float32))
    except ValueError as exc:
        assert "mono" in str(exc)
    else:
        raise AssertionError("a stereo array was accepted")


def test_the_endpoint_silence_can_change_mid_stream(jfk_16k, idle_engine):
    """A short pause ends the utterance only once the silence setting is short enough."""
    speech = jfk_16k[: int(2.3 * 16000)]
    pause = np.zeros(int(0.8 * 16000), dtype=np.float32)
    stream = StreamingTranscriber(StreamingOptions(trailing_silence=1.5, partials=False))
    events = stream.feed_samples_sync(np.concatenate([SILENCE, speech, pause]))
    assert not [e for e in events if e.is_final]  # 0.8 s is no endpoint at 1.5 s
    stream.set_trailing_silence(0.5)
    events = stream.feed_samples_sync(np.concatenate([speech, pause]))
    assert [e for e in events if e.is_final], "a 0.8 s pause ends the turn at 0.5 s"
