"""Test speech for the benchmarks, and its WAV framing (not a benchmark itself).

The WER sentences (tests/fixtures/audio/wer, two per file) cut at their speech edges
and joined with 1-2 s of digital silence, so the end of speech of every utterance is
known from the construction (``build_stream``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import _engine_common as common
import numpy as np

SR = 16000


def wav_bytes(samples: np.ndarray, rate: int = SR) -> bytes:
    pcm = common.pcm16(samples)
    return wav_header(len(pcm), rate) + pcm


def wav_header(data_bytes: int = 0xFFFFFFFF - 36, rate: int = SR) -> bytes:
    """A 44-byte PCM16 mono header; the default size is the 'streaming, unknown' maximum."""
    return (
        b"RIFF"
        + struct.pack("<I", min(0xFFFFFFFF, data_bytes + 36))
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


@dataclass(frozen=True)
class Clip:
    audio: np.ndarray
    speech_start: float  # seconds into `audio`
    speech_end: float
    text: str


def _speech_spans(audio: np.ndarray, min_gap: float = 0.4) -> list[tuple[float, float]]:
    """Speech regions by 20 ms energy (noise floor x3 or 3 % of peak), gaps >= min_gap."""
    hop = SR // 50
    n = len(audio) // hop
    rms = np.sqrt((audio[: n * hop].reshape(n, hop) ** 2).mean(axis=1))
    threshold = max(float(np.percentile(rms, 10)) * 3, float(rms.max()) * 0.03)
    spans: list[tuple[float, float]] = []
    start = last = None
    for i, active in enumerate(rms > threshold):
        if active:
            if start is None:
                start = i
            elif (i - last - 1) * 0.02 >= min_gap:
                spans.append((start * 0.02, (last + 1) * 0.02))
                start = i
            last = i
    if start is not None:
        spans.append((start * 0.02, (last + 1) * 0.02))
    return [(s, e) for s, e in spans if e - s >= 0.3]


_CLIPS: list[Clip] | None = None


def sentence_clips() -> list[Clip]:
    """The 12 WER sentences, each with 0.15 s of its own background around the speech."""
    global _CLIPS
    if _CLIPS is None:
        from sessions_app.engine import decode_file

        clips = []
        for path, ref in common.wer_set():
            audio = decode_file(path).mono()
            sentences = [s.strip() + "." for s in ref.split(".") if s.strip()]
            spans = _speech_spans(audio)
            for k, (s, e) in enumerate(spans):
                a = max(0, int((s - 0.15) * SR))
                b = min(len(audio), int((e + 0.15) * SR))
                text = sentences[k] if len(spans) == len(sentences) else ref
                clips.append(Clip(audio[a:b].copy(), s - a / SR, e - a / SR, text))
        _CLIPS = clips
    return _CLIPS


GAPS = [1.2, 1.8, 1.0, 1.5, 2.0, 1.3, 1.6, 1.1]


@dataclass(frozen=True)
class TestStream:
    audio: np.ndarray  # float32 16 kHz mono
    truth: list[tuple[float, float]]  # (speech start, speech end) of each utterance

    @property
    def seconds(self) -> float:
        return len(self.audio) / SR


def build_stream(
    seconds: float, rotate: int = 0, lead: float = 0.5, tail: float = 1.5
) -> TestStream:
    """Sentences back to back with 1-2 s of silence, until about `seconds` long.

    `rotate` starts at another sentence (concurrent streams then differ).
    """
    clips = sentence_clips()
    parts = [np.zeros(int(lead * SR), np.float32)]
    truth: list[tuple[float, float]] = []
    pos = len(parts[0])
    for k in range(4 * len(clips)):
        clip = clips[(rotate + k) % len(clips)]
        gap = int(GAPS[(rotate + k - 1) % len(GAPS)] * SR) if k else 0
        if truth and (pos + gap + len(clip.audio)) / SR + tail > seconds:
            break
        if gap:
            parts.append(np.zeros(gap, np.float32))
            pos += gap
        truth.append((pos / SR + clip.speech_start, pos / SR + clip.speech_end))
        parts.append(clip.audio)
        pos += len(clip.audio)
    parts.append(np.zeros(int(tail * SR), np.float32))
    return TestStream(np.concatenate(parts).astype(np.float32), truth)
