from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from sessions_app.engine import (
    SAMPLE_RATE,
    AudioFormatError,
    PcmStream,
    channels_identical,
    decode_file,
    iter_decode,
    probe,
)
from tests.support.audio import pcm16

FORMATS = ["wav", "mp3", "m4a", "aac", "mp4", "mov", "webm", "ogg", "flac"]


@pytest.fixture(scope="module")
def reference(fixtures) -> np.ndarray:
    return decode_file(fixtures / "speech.wav").mono()


@pytest.mark.parametrize("ext", FORMATS)
def test_each_format_decodes_to_16k_mono_float32(fixtures, reference, ext):
    audio = decode_file(fixtures / f"speech.{ext}")
    assert audio.sample_rate == SAMPLE_RATE
    assert audio.samples.dtype == np.float32
    assert audio.channels == 1
    # Lossy codecs add/trim a few ms of priming; the length must still match closely.
    assert abs(audio.duration - len(reference) / SAMPLE_RATE) < 0.1
    assert float(np.sqrt(np.mean(audio.mono() ** 2))) > 0.01


def test_file_objects_decode_like_paths(fixtures):
    from_path = decode_file(fixtures / "speech.mp3").samples
    with open(fixtures / "speech.mp3", "rb") as fh:
        from_obj = decode_file(fh).samples
    assert np.array_equal(from_path, from_obj)


def test_iter_decode_yields_bounded_chunks(fixtures):
    chunks = list(iter_decode(fixtures / "jfk.ogg", chunk_seconds=2.0))
    assert len(chunks) >= 5
    assert all(c.shape[1] <= 2 * SAMPLE_RATE for c in chunks)


def test_two_channel_file_keeps_both_channels_and_they_differ(fixtures):
    audio = decode_file(fixtures / "two_speakers.flac")
    assert audio.channels == 2
    assert not audio.channels_identical()
    same = np.stack([audio.samples[0], audio.samples[0] + 1e-4])
    assert channels_identical(same)


def test_probe_reports_the_source_format(fixtures):
    info = probe(fixtures / "two_speakers.flac")
    assert (info.codec, info.channels, info.sample_rate) == ("flac", 2, 8000)
    assert info.duration == pytest.approx(5.0, abs=0.1)


@pytest.mark.parametrize("name", ["garbage.mp3", "truncated.wav", "empty.ogg", "text.m4a"])
def test_corrupt_file_gives_audio_format_error(tmp_path, fixtures, name):
    path = tmp_path / name
    if name == "garbage.mp3":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    elif name == "truncated.wav":
        path.write_bytes((fixtures / "speech.wav").read_bytes()[:30])
    elif name == "empty.ogg":
        path.write_bytes(b"")
    else:
        path.write_text("this is not audio at all\n" * 100)
    with pytest.raises(AudioFormatError):
        decode_file(path)


def test_missing_file_gives_audio_format_error(tmp_path):
    with pytest.raises(AudioFormatError):
        decode_file(tmp_path / "nope.wav")


def _tone(rate: int, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


@pytest.mark.parametrize("rate", [8000, 44100, 48000])
def test_raw_pcm_is_resampled_to_16k(rate):
    stream = PcmStream(rate)
    data = pcm16(_tone(rate))
    out = np.concatenate([stream.push(data[i : i + 1001]) for i in range(0, len(data), 1001)])
    out = np.concatenate([out, stream.flush()])
    assert abs(len(out) - SAMPLE_RATE) <= 32
    expected = _tone(SAMPLE_RATE)[1000:15000]
    assert np.corrcoef(out[1000:15000], expected)[0, 1] > 0.99


def test_raw_pcm_chunking_does_not_change_resampled_output():
    data = pcm16(_tone(8000))
    a, b = PcmStream(8000), PcmStream(8000)
    whole = np.concatenate([a.push(data), a.flush()])
    pieces = np.concatenate(
        [b.push(data[i : i + 321]) for i in range(0, len(data), 321)] + [b.flush()]
    )
    assert np.array_equal(whole, pieces)


def test_wav_header_on_raw_stream_is_detected_and_stripped():
    samples = _tone(16000, 0.5)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm16(samples))
    data = buf.getvalue()
    stream = PcmStream(16000)
    out = np.concatenate([stream.push(data[i : i + 7]) for i in range(0, len(data), 7)])
    assert stream.header_stripped
    assert np.array_equal(out, np.frombuffer(pcm16(samples), "<i2") / 32768.0)


def test_wav_header_sample_rate_overrides_config():
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(pcm16(_tone(8000)))
    stream = PcmStream(16000)
    out = np.concatenate([stream.push(buf.getvalue()), stream.flush()])
    assert stream.sample_rate == 8000
    assert abs(len(out) - SAMPLE_RATE) <= 32


def test_headerless_pcm_is_not_mistaken_for_wav():
    stream = PcmStream(16000)
    out = stream.push(b"\x01\x02" * 100)
    assert not stream.header_stripped and len(out) == 100


def test_unsupported_rate_gives_audio_format_error():
    with pytest.raises(AudioFormatError):
        PcmStream(4000)
