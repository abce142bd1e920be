"""Endpointing: where utterances start and end in a live stream.

Silero VAD (the ONNX model shipped inside faster-whisper) scores 32 ms windows; one
ONNX session is shared by every stream (``InferenceSession.run`` is thread-safe and the
recurrent state is passed in explicitly), and a window costs ~0.1 ms of CPU, so
endpointing is cheap next to Whisper. Scores are identical whatever the feed
size, so endpoints depend on the audio only, never on how it was chunked.

``EndpointState`` is the hysteresis state machine over window probabilities:
speech starts after ``start_windows`` windows >= ``threshold``; it continues while
windows stay >= ``neg_threshold``; it ends after ``trailing_silence`` seconds below.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import numpy as np

WINDOW = 512  # samples at 16 kHz = 32 ms, what Silero expects
_CONTEXT = 64
WINDOW_SECONDS = WINDOW / 16000

_session = None
_session_lock = threading.Lock()


def _vad_session():
    global _session
    if _session is None:
        with _session_lock:
            if _session is None:
                import onnxruntime
                from faster_whisper.utils import get_assets_path

                opts = onnxruntime.SessionOptions()
                # One thread: many streams call it concurrently; intra-op threads would
                # only fight with CTranslate2 for the cores.
                opts.inter_op_num_threads = 1
                opts.intra_op_num_threads = 1
                opts.enable_cpu_mem_arena = False
                opts.log_severity_level = 4
                path = os.path.join(get_assets_path(), "silero_vad_v6.onnx")
                _session = onnxruntime.InferenceSession(
                    path, providers=["CPUExecutionProvider"], sess_options=opts
                )
    return _session


class SileroStream:
    """Per-stream Silero scorer: push samples, get one probability per full window."""

    def __init__(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)
        self._rest = np.zeros(0, dtype=np.float32)

    def push(self, samples: np.ndarray) -> np.ndarray:
        data = np.concatenate([self._rest, samples]) if self._rest.size else samples
        n = len(data) // WINDOW
        self._rest = data[n * WINDOW :].copy()
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        windows = data[: n * WINDOW].reshape(n, WINDOW).astype(np.float32, copy=False)
        # Each window is scored with the 64 samples before it, as the model was trained.
        prev = np.concatenate([self._context[None, :], windows[:-1, -_CONTEXT:]], axis=0)
        batch = np.concatenate([prev, windows], axis=1)
        probs, self._h, self._c = _vad_session().run(
            None, {"input": batch, "h": self._h, "c": self._c}
        )
        self._context = windows[-1, -_CONTEXT:].copy()
        return np.asarray(probs, dtype=np.float32).reshape(-1)


@dataclass(slots=True)
class VadEvent:
    kind: str  # "start" | "end"
    sample: int  # start: first sample of speech; end: sample after the last speech window


class EndpointState:
    """Hysteresis over window probabilities; emits start/end events in sample units."""

    def __init__(
        self,
        trailing_silence: float = 0.5,
        *,
        threshold: float = 0.5,
        neg_threshold: float = 0.35,
        start_windows: int = 2,
    ) -> None:
        self.threshold = threshold
        self.neg_threshold = neg_threshold
        self.start_windows = start_windows
        self.end_windows = max(1, round(trailing_silence / WINDOW_SECONDS))
        self.in_speech = False
        self.window = 0  # windows seen
        self._run_start = -1  # first window of the current above-threshold run
        self._run = 0
        self.last_speech_window = -1
        self.silence_windows = 0  # consecutive windows below neg_threshold while in speech

    def update(self, prob: float) -> VadEvent | None:
        w = self.window
        self.window += 1
        if not self.in_speech:
            if prob >= self.threshold:
                if self._run == 0:
                    self._run_start = w
                self._run += 1
                if self._run >= self.start_windows:
                    self.in_speech = True
                    self.last_speech_window = w
                    self.silence_windows = 0
                    self._run = 0
                    return VadEvent("start", self._run_start * WINDOW)
            else:
                self._run = 0
            return None
        if prob >= self.neg_threshold:
            self.last_speech_window = w
            self.silence_windows = 0
            return None
        self.silence_windows += 1
        if self.silence_windows >= self.end_windows:
            self.in_speech = False
            self.silence_windows = 0
            return VadEvent("end", (self.last_speech_window + 1) * WINDOW)
        return None

    @property
    def speech_end_sample(self) -> int:
        """Sample after the last window that counted as speech."""
        return (self.last_speech_window + 1) * WINDOW
