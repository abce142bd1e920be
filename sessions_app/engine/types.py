"""Plain data types produced by the engine (no behaviour, JSON-friendly)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word; times in seconds on the audio timeline."""

    word: str
    start: float
    end: float
    confidence: float


@dataclass(frozen=True, slots=True)
class Utterance:
    """A transcribed stretch of speech by one speaker."""

    speaker: str
    t_start: float
    t_end: float
    text: str
    words: tuple[Word, ...] = ()
    asr_confidence: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Event:
    """A streaming result.

    ``kind`` is "speech_start" (the endpointer heard an utterance begin at ``start``;
    never shed), "partial" (best effort, may be dropped under load, cumulative text of
    the open segment) or "final" (exactly one per segment, never changes).
    ``tokens``/``timestamps`` follow Bodhi's ``segment_meta``: one entry per word,
    timestamps are word end times relative to ``start`` so that
    ``start + timestamps[-1]`` is the end of the utterance.
    """

    kind: Literal["speech_start", "partial", "final"]
    segment: int
    text: str
    start: float
    end: float
    stable_text: str = ""
    words: tuple[Word, ...] = ()
    tokens: tuple[str, ...] = ()
    timestamps: tuple[float, ...] = ()
    confidence: float = 0.0
    processed_audio: float = 0.0
    # Seconds spent waiting for/running inference for this event (for aux_info-like stats).
    request_time: float = 0.0

    @property
    def is_final(self) -> bool:
        return self.kind == "final"

    @property
    def is_partial(self) -> bool:
        return self.kind == "partial"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Hotword:
    phrase: str
    score: float = 1.5


@dataclass(slots=True)
class TranscribeOptions:
    """Recognition options shared by batch and streaming.

    The gate thresholds are faster-whisper's defaults; they are applied again on our
    side because faster-whisper only uses them to trigger temperature fallback and
    still returns the failed segment when every temperature fails.
    """

    model: str | None = None
    language: str | None = None
    hotwords: list[Hotword] = field(default_factory=list)
    beam_size: int = 5
    word_timestamps: bool = True
    compression_ratio_threshold: float = 2.4
    log_prob_threshold: float = -1.0
    no_speech_threshold: float = 0.6
    # Segments whose average log-probability is this low are dropped even when
    # no_speech_prob is low (hallucinated text on noise has low log-prob).
    hard_log_prob_floor: float = -1.5
    # Batch only: Silero VAD parameters passed to faster-whisper. Its defaults: shorter
    # silences/pads cut Whisper's context and cost ~4 WER points on the WER set.
    vad_min_silence_ms: int = 2000
    vad_speech_pad_ms: int = 400

    def hotwords_text(self) -> str | None:
        if not self.hotwords:
            return None
        # faster-whisper takes hotwords as one prompt string; repeat heavily weighted
        # phrases so a higher Bodhi score nudges the prompt more.
        parts: list[str] = []
        for hw in self.hotwords:
            reps = 2 if hw.score >= 3.0 else 1
            parts.extend([hw.phrase.strip()] * reps)
        return ", ".join(p for p in parts if p) or None
