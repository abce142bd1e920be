"""Sample buffer for a live stream, addressed by absolute sample index."""

from __future__ import annotations

import numpy as np

from .audio import SAMPLE_RATE


class AudioBuffer:
    """Growable buffer addressed by absolute sample index; the front can be dropped."""

    def __init__(self) -> None:
        self._data = np.zeros(SAMPLE_RATE * 4, dtype=np.float32)
        self.start = 0  # absolute index of _data[0]
        self._len = 0

    @property
    def end(self) -> int:
        return self.start + self._len

    def append(self, x: np.ndarray) -> None:
        need = self._len + len(x)
        if need > len(self._data):
            grown = np.zeros(max(need, 2 * len(self._data)), dtype=np.float32)
            grown[: self._len] = self._data[: self._len]
            self._data = grown
        self._data[self._len : need] = x
        self._len = need

    def get(self, a: int, b: int) -> np.ndarray:
        a, b = max(a, self.start), min(b, self.end)
        return self._data[a - self.start : b - self.start].copy()

    def trim(self, before: int) -> None:
        drop = min(max(0, before - self.start), self._len)
        if drop:
            self._data[: self._len - drop] = self._data[drop : self._len]
            self._len -= drop
            self.start += drop
