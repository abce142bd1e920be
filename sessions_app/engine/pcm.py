"""Raw PCM16 little-endian streams: WAV-header stripping and incremental resampling.

Bodhi-style clients send headerless PCM16 mono at the configured rate (8-48 kHz), in
frames of any size, occasionally preceded by a 44-byte RIFF header (sox writing WAV to
stdout). ``PcmStream`` turns such a byte stream into 16 kHz float32 with no seams:
the resampler keeps its filter state between pushes, so splitting the input differently
gives the same output samples.
"""

from __future__ import annotations

import struct

import numpy as np

from .audio import SAMPLE_RATE
from .errors import AudioFormatError

MIN_RATE = 8000
MAX_RATE = 48000
# How much of a stream start we are willing to buffer while looking for the WAV "data"
# chunk; real headers are 44 bytes, with LIST/fact chunks at most a few hundred.
_MAX_HEADER = 4096


def pcm16_to_float32(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def parse_wav_header(data: bytes) -> tuple[int, int, int, int] | None:
    """Return (data_offset, sample_rate, channels, bits) for a RIFF/WAVE prefix.

    Returns None when more bytes are needed; raises AudioFormatError when it is a WAV
    header we cannot take (not PCM16).
    """
    if len(data) < 12:
        return None
    pos = 12
    fmt: tuple[int, int, int] | None = None
    while True:
        if len(data) < pos + 8:
            return None
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = pos + 8
        if cid == b"fmt ":
            if len(data) < body + 16:
                return None
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", data[body : body + 16])
            if tag not in (1, 0xFFFE) or bits != 16:
                raise AudioFormatError(f"WAV stream is not PCM16 (format {tag}, {bits} bit)")
            fmt = (rate, channels, bits)
        elif cid == b"data":
            if fmt is None:
                raise AudioFormatError("WAV header has no fmt chunk before data")
            return body, fmt[0], fmt[1], fmt[2]
        pos = body + size + (size & 1)
        if pos > _MAX_HEADER:
            raise AudioFormatError("WAV header too long")


class PcmStream:
    """Incremental PCM16LE -> 16 kHz mono float32 converter for one stream."""

    def __init__(self, sample_rate: int = SAMPLE_RATE, channels: int = 1) -> None:
        if not MIN_RATE <= int(sample_rate) <= MAX_RATE:
            raise AudioFormatError(f"sample rate {sample_rate} outside {MIN_RATE}-{MAX_RATE} Hz")
        self.sample_rate = int(sample_rate)
        self.channels = channels
        self._head = b""  # stream start, held until we know whether it is a RIFF header
        self._started = False
        self._odd = b""  # trailing partial sample between pushes
        self._resampler = None
        self.header_stripped = False
        self.bytes_in = 0

    def _make_resampler(self):
        if self.sample_rate == SAMPLE_RATE:
            return None
        import av

        return av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)

    def _start(self, data: bytes) -> bytes | None:
        """Handle the stream start; returns audio bytes, or None while still undecided."""
        self._head += data
        if not self._head.startswith(b"RIFF"[: len(self._head)]):
            self._started = True
            data, self._head = self._head, b""
            return data
        if len(self._head) < 4:
            return None
        if len(self._head) >= 12 and self._head[8:12] != b"WAVE":
            self._started = True  # "RIFF" by chance in raw audio: treat as audio
            data, self._head = self._head, b""
            return data
        parsed = parse_wav_header(self._head)
        if parsed is None:
            if len(self._head) > _MAX_HEADER:
                raise AudioFormatError("WAV header too long")
            return None
        offset, rate, channels, _ = parsed
        # The header describes the bytes that follow better than the session config.
        if MIN_RATE <= rate <= MAX_RATE:
            self.sample_rate = rate
        self.channels = max(1, channels)
        self.header_stripped = True
        self._started = True
        data, self._head = self._head[offset:], b""
        return data

    def push(self, data: bytes) -> np.ndarray:
        """Convert the next bytes; returns the 16 kHz samples available so far."""
        self.bytes_in += len(data)
        if not self._started:
            started = self._start(bytes(data))
            if started is None:
                return np.zeros(0, dtype=np.float32)
            data = started
            self._resampler = self._make_resampler()
        data = self._odd + bytes(data)
        frame_bytes = 2 * self.channels
        usable = len(data) - len(data) % frame_bytes
        self._odd = data[usable:]
        if usable == 0:
            return np.zeros(0, dtype=np.float32)
        ints = np.frombuffer(data[:usable], dtype="<i2")
        if self.channels > 1:
            ints = ints.reshape(-1, self.channels).mean(axis=1).astype(np.int16)
        return self._resample(ints)

    def _resample(self, ints: np.ndarray | None) -> np.ndarray:
        if self._resampler is None:
            if ints is None:
                return np.zeros(0, dtype=np.float32)
            return ints.astype(np.float32) / 32768.0
        import av

        frame = None
        if ints is not None:
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(ints).reshape(1, -1), format="s16", layout="mono"
            )
            frame.sample_rate = self.sample_rate
        outs = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        if not outs:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(outs).astype(np.float32, copy=False)

    def flush(self) -> np.ndarray:
        """End of stream: drain the resampler (a header-only stream yields nothing)."""
        if not self._started:
            if self._head and not self._head.startswith(b"RIFF"):
                return self.push(b"")
            return np.zeros(0, dtype=np.float32)
        return self._resample(None)
