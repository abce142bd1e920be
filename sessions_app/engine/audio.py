"""Decoding audio files/containers to 16 kHz float32 with PyAV, in bounded memory.

* ``iter_decode(source)`` streams a file (path or binary file object) as chunks of
  shape (channels, n): PyAV reads the container from disk piece by piece, so a 500 MB
  upload never sits in RAM compressed or decoded as a whole.
* ``decode_file(source)`` is the convenience full decode for short files.
* Channels: mono and stereo are kept as they are (channel = speaker on two-channel call
  recordings); more than two channels are downmixed to mono, because no call
  recording format we accept puts speakers on 3+ channels.
* Every PyAV/FFmpeg failure (corrupt, truncated, not audio, unsupported codec)
  surfaces as ``AudioFormatError``.

Raw PCM streams live in ``pcm.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from .errors import AudioFormatError

SAMPLE_RATE = 16000
Source = str | os.PathLike[str] | BinaryIO


@dataclass(frozen=True, slots=True)
class AudioInfo:
    codec: str
    container: str
    channels: int
    sample_rate: int
    duration: float | None  # seconds, when the container knows it


@dataclass(slots=True)
class DecodedAudio:
    """Decoded audio: ``samples`` has shape (channels, n), 16 kHz float32 in [-1, 1]."""

    samples: np.ndarray
    sample_rate: int = SAMPLE_RATE

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration(self) -> float:
        return self.samples.shape[1] / self.sample_rate

    def mono(self) -> np.ndarray:
        if self.channels == 1:
            return self.samples[0]
        return self.samples.mean(axis=0).astype(np.float32)

    def channel(self, index: int) -> np.ndarray:
        return self.samples[index]

    def channels_identical(self) -> bool:
        return channels_identical(self.samples)


def channels_identical(samples: np.ndarray, *, tolerance_db: float = -20.0) -> bool:
    """True when a (2, n) recording carries the same signal on both channels.

    "Same" means the difference signal is at least 20 dB below the signal itself,
    which tolerates codec noise and dithering on a duplicated mono source (jfk.flac is at
    -31 dB) while a two-party call (a different talker per channel) is near 0 dB.
    """
    if samples.ndim != 2 or samples.shape[0] < 2:
        return True
    left = samples[0].astype(np.float64)
    right = samples[1].astype(np.float64)
    energy = float(np.mean(left**2) + np.mean(right**2)) / 2.0
    if energy < 1e-10:  # both silent
        return True
    diff = float(np.mean((left - right) ** 2))
    if diff == 0.0:
        return True
    return 10.0 * np.log10(diff / energy) < tolerance_db


def _open(source: Source):  # -> av.container.InputContainer
    import av

    try:
        # Small probe/analyze limits: garbage input fails fast instead of being scanned.
        return av.open(source, mode="r", options={"probesize": "5000000"})
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise AudioFormatError(f"cannot open audio: {exc}") from exc
    except FileNotFoundError as exc:
        raise AudioFormatError(f"no such file: {source}") from exc


def _audio_stream(container):
    streams = container.streams.audio
    if not streams:
        container.close()
        raise AudioFormatError("no audio stream in input")
    return streams[0]


def probe(source: Source) -> AudioInfo:
    """Describe a file's first audio stream without decoding it."""
    container = _open(source)
    try:
        stream = _audio_stream(container)
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / 1_000_000
        return AudioInfo(
            codec=stream.codec_context.name,
            container=container.format.name,
            channels=stream.codec_context.channels or 1,
            sample_rate=stream.codec_context.sample_rate or 0,
            duration=duration,
        )
    finally:
        container.close()


def iter_decode(
    source: Source, *, chunk_seconds: float = 30.0, keep_channels: bool = True
) -> Iterator[np.ndarray]:
    """Yield (channels, n) float32 chunks at 16 kHz of about ``chunk_seconds`` each.

    Memory use is bounded by one chunk plus FFmpeg's packet buffers, whatever the file size.
    """
    import av

    container = _open(source)
    try:
        stream = _audio_stream(container)
        in_channels = stream.codec_context.channels or 1
        out_layout = "stereo" if keep_channels and in_channels == 2 else "mono"
        n_out = 2 if out_layout == "stereo" else 1
        resampler = av.AudioResampler(format="fltp", layout=out_layout, rate=SAMPLE_RATE)
        target = max(1, int(chunk_seconds * SAMPLE_RATE))
        pending: list[np.ndarray] = []
        pending_n = 0
        produced = 0

        def frames() -> Iterator:
            try:
                for frame in container.decode(stream):
                    frame.pts = None  # let the resampler ignore gaps/overlaps in timestamps
                    yield from resampler.resample(frame)
                yield from resampler.resample(None)
            except av.FFmpegError as exc:
                raise AudioFormatError(f"cannot decode audio: {exc}") from exc

        for out in frames():
            arr = out.to_ndarray().reshape(n_out, -1)
            pending.append(arr)
            pending_n += arr.shape[1]
            while pending_n >= target:
                joined = np.concatenate(pending, axis=1)
                yield np.ascontiguousarray(joined[:, :target], dtype=np.float32)
                produced += target
                rest = joined[:, target:]
                pending = [rest] if rest.shape[1] else []
                pending_n = rest.shape[1]
        if pending_n:
            yield np.ascontiguousarray(np.concatenate(pending, axis=1), dtype=np.float32)
            produced += pending_n
        if produced == 0:
            raise AudioFormatError("input holds no decodable audio")
    finally:
        container.close()


def decode_file(
    source: Source, *, keep_channels: bool = True, max_seconds: float | None = None
) -> DecodedAudio:
    """Decode a whole (short) file into memory. Use ``iter_decode`` for long uploads.

    ``max_seconds`` bounds memory for untrusted input: longer audio raises AudioFormatError.
    """
    chunks: list[np.ndarray] = []
    total = 0
    for chunk in iter_decode(source, keep_channels=keep_channels):
        chunks.append(chunk)
        total += chunk.shape[1]
        if max_seconds is not None and total > max_seconds * SAMPLE_RATE:
            raise AudioFormatError(f"audio longer than {max_seconds:.0f} s")
    return DecodedAudio(np.concatenate(chunks, axis=1))
