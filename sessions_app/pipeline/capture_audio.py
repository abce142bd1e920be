"""Turning live chunks (consecutive pieces of one recording) into 16 kHz mono audio.

WAV and raw PCM16 are converted as they arrive. Compressed containers (MP3, Ogg,
WebM, MP4…) cannot be decoded from an arbitrary cut, so the bytes received so far
are decoded again when at least `redecode_seconds` of wall time has passed, and
only the new samples are passed on; the last `tail_margin` seconds wait for the
next round (a cut frame decodes badly). That costs a re-decode of the whole
upload each round: fine for calls of minutes, and WAV/PCM avoids it entirely.
"""

import io
import time

import numpy as np

from sessions_app.engine import SAMPLE_RATE, AudioFormatError, PcmStream, iter_decode

_COMPRESSED_MAGIC = (b"ID3", b"OggS", b"\x1a\x45\xdf\xa3", b"fLaC")
_RAW_SUFFIXES = {".pcm", ".raw", ".s16le"}


def _looks_compressed(head: bytes, suffix: str) -> bool:
    if head.startswith(b"RIFF") or suffix in _RAW_SUFFIXES:
        return False
    if (
        head.startswith(_COMPRESSED_MAGIC)
        or head[4:8] == b"ftyp"
        or head[:2] in (b"\xff\xfb", b"\xff\xf3")
    ):
        return True
    return suffix not in {".wav", ".wave"}


class CaptureAudioDecoder:
    def __init__(self, suffix: str, *, redecode_seconds: float = 1.0, tail_margin: float = 0.3):
        self.suffix = suffix.lower()
        self.redecode_seconds = redecode_seconds
        self.tail_margin = int(tail_margin * SAMPLE_RATE)
        self.compressed: bool | None = None
        self._pcm: PcmStream | None = None
        self._received = bytearray()
        self._produced = 0
        self._decoded_at = 0.0

    def push(self, data: bytes) -> np.ndarray:
        if self.compressed is None:
            self.compressed = _looks_compressed(bytes(data[:12]), self.suffix)
            if not self.compressed:
                self._pcm = PcmStream(SAMPLE_RATE)
        if not self.compressed:
            return self._pcm.push(data)
        self._received += data
        if time.monotonic() - self._decoded_at < self.redecode_seconds:
            return np.zeros(0, dtype=np.float32)
        return self._decode(final=False)

    def flush(self) -> np.ndarray:
        if self.compressed is None:
            return np.zeros(0, dtype=np.float32)
        if not self.compressed:
            return self._pcm.flush()
        return self._decode(final=True)

    def _decode(self, *, final: bool) -> np.ndarray:
        self._decoded_at = time.monotonic()
        try:
            chunks = list(iter_decode(io.BytesIO(bytes(self._received)), keep_channels=False))
        except AudioFormatError:
            if final:
                raise
            return np.zeros(0, dtype=np.float32)  # not enough of the container yet
        audio = np.concatenate([c[0] for c in chunks]) if chunks else np.zeros(0, np.float32)
        usable = len(audio) if final else max(self._produced, len(audio) - self.tail_margin)
        fresh = audio[self._produced : usable]
        self._produced = usable
        return fresh.astype(np.float32, copy=False)
