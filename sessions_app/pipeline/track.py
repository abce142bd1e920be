"""A conversation's decoded audio on disk, for the agents' per-utterance slices.

Decoding an hour-long upload into RAM would take ~230 MB per channel; the track is
written as raw float32 next to the artifacts and read back through a memory map,
so memory stays bounded whatever the upload's length.
"""

from pathlib import Path

import numpy as np

from sessions_app.engine import SAMPLE_RATE, channels_identical, iter_decode


class DecodedTrack:
    def __init__(self, path: Path, channels: int, per_channel: bool):
        self.path = path
        self.channels = channels
        # Two different talkers, one per channel: Speaker_0 = left, Speaker_1 = right.
        self.per_channel = per_channel
        frames = path.stat().st_size // (4 * channels) if path.exists() else 0
        self._data = (
            np.memmap(path, dtype=np.float32, mode="r", shape=(frames, channels))
            if frames
            else None
        )

    @classmethod
    def decode(cls, source: Path, target: Path) -> "DecodedTrack":
        channels, per_channel = 1, False
        with open(target, "wb") as out:
            for index, chunk in enumerate(iter_decode(source)):
                if index == 0:
                    channels = chunk.shape[0]
                    per_channel = channels == 2 and not channels_identical(chunk)
                out.write(np.ascontiguousarray(chunk.T, dtype=np.float32).tobytes())
        return cls(target, channels, per_channel)

    @property
    def duration(self) -> float:
        return 0.0 if self._data is None else self._data.shape[0] / SAMPLE_RATE

    def slice(self, speaker: str, start: float, end: float) -> np.ndarray | None:
        if self._data is None:
            return None
        a, b = max(0, int(start * SAMPLE_RATE)), min(self._data.shape[0], int(end * SAMPLE_RATE))
        if b <= a:
            return None
        part = self._data[a:b]
        if self.per_channel:
            index = int(speaker.rsplit("_", 1)[-1]) if speaker.rsplit("_", 1)[-1].isdigit() else 0
            return np.array(part[:, min(index, self.channels - 1)])
        return np.array(part.mean(axis=1), dtype=np.float32)
