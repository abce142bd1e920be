"""Typed inputs and outputs of the analytics agents.

Inputs are filled by the surfaces from the speech engine's utterances; outputs serialise to the
Illocution wire schemas (reference §9-§10) with `.to_dict()`, keeping field names exact.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

#: The 7-way emotion label set used everywhere (reference §9.4, label set inferred).
EMOTIONS: tuple[str, ...] = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")

#: Moment categories the detector emits (reference §10.5; the set beyond objection/cta_commit
#: and topic shifts is ours and documented in docs/analytics.md).
MOMENT_CATEGORIES: tuple[str, ...] = (
    "objection",
    "cta_commit",
    "commitment",
    "question",
    "complaint",
    "escalation",
    "resolution",
    "topic_shift",
)

SAMPLE_RATE = 16_000


class AgentError(Exception):
    """Base class of errors the agents raise on bad input (never on a failing agent)."""


class EmptyTimelineError(AgentError, ValueError):
    """segment() was given no timeline or an empty one (the API answers 400)."""


class InvalidTimelineError(AgentError, ValueError):
    """segment() was given timeline entries lacking required fields or with bad types."""


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word with its timing (seconds, relative to the conversation) and ASR
    confidence in [0, 1]."""

    word: str
    start: float
    end: float
    confidence: float = 1.0

    @classmethod
    def coerce(cls, value: Word | tuple | list | dict) -> Word:
        """Accept the engine's tuples `(word, start, end, confidence)` or dicts."""
        if isinstance(value, Word):
            return value
        if isinstance(value, dict):
            return cls(
                str(value.get("word", value.get("text", ""))),
                float(value.get("start", 0.0)),
                float(value.get("end", 0.0)),
                float(value.get("confidence", value.get("probability", 1.0))),
            )
        items = list(value)
        conf = float(items[3]) if len(items) > 3 else 1.0
        return cls(str(items[0]), float(items[1]), float(items[2]), conf)


@dataclass(slots=True)
class Utterance:
    """A finalised utterance from the engine.

    `audio`, when present, is the utterance's own 16 kHz mono float32 signal (not the whole
    conversation). Missing or unusable audio only empties the prosody fields.
    """

    utterance_id: str
    speaker: str
    t_start: float
    t_end: float
    text: str
    words: list[Word] = field(default_factory=list)
    asr_confidence: float = 1.0
    audio: np.ndarray | None = None
    sample_rate: int = SAMPLE_RATE

    def __post_init__(self) -> None:
        self.words = [Word.coerce(w) for w in (self.words or [])]

    @property
    def duration(self) -> float:
        return max(0.0, float(self.t_end) - float(self.t_start))

    @classmethod
    def from_timeline_entry(cls, entry: dict[str, Any]) -> Utterance:
        """Build an utterance from a TimelineEntry-like dict (used by segment() and replays)."""
        return cls(
            utterance_id=str(entry["utterance_id"]),
            speaker=str(entry.get("speaker") or entry.get("speaker_id") or "Speaker_0"),
            t_start=float(entry.get("t_start", 0.0)),
            t_end=float(entry.get("t_end", entry.get("t_start", 0.0))),
            text=str(entry.get("text") or ""),
            words=list(entry.get("words") or []),
            asr_confidence=float(entry.get("asr_confidence", 1.0) or 1.0),
        )


@dataclass(slots=True)
class AnalysisContext:
    """What the per-utterance agents may know beyond the utterance itself.

    `speaker_baselines` holds running per-speaker prosody means so that pitch and loudness are
    judged against the speaker's own voice once a few utterances have been heard; the
    ConversationTracker updates it. `focus` is the client's optional analysis focus string.
    """

    conversation_id: str = "analysis"
    focus: str = ""
    previous: list[UtteranceAnalysis] = field(default_factory=list)
    speaker_baselines: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(slots=True)
class UtteranceAnalysis:
    """Everything the per-utterance agents produced for one utterance.

    `timeline_entry()` is the reference TimelineEntry (§10.1); `emotion_event()` and
    `cognitive_event()` are the SSE payloads (§9.4, §9.5).
    """

    utterance: Utterance
    prosody: dict[str, Any] = field(default_factory=dict)
    prosody_desc: str = ""
    emotion: dict[str, Any] = field(default_factory=dict)
    sentiment: dict[str, Any] = field(default_factory=dict)
    polarity: float = 0.0
    subjectivity: float = 0.0
    cognitive: dict[str, Any] = field(default_factory=dict)
    commitment_score: float = 0.0
    commitment_level: str = "low"
    passion_score: float = 0.0
    passion_level: str = "low"
    conviction_score: float = 0.0
    lexical_markers: dict[str, Any] = field(default_factory=dict)
    acoustic_reasoning: str = ""
    confidence: float = 0.0
    agent_results: dict[str, dict[str, Any]] = field(default_factory=dict)

    # Convenience accessors used by the conversation-level agents.
    @property
    def utterance_id(self) -> str:
        return self.utterance.utterance_id

    @property
    def speaker(self) -> str:
        return self.utterance.speaker

    @property
    def valence(self) -> float:
        return float(self.emotion.get("scores", {}).get("valence", 0.5))

    @property
    def arousal(self) -> float:
        return float(self.emotion.get("scores", {}).get("arousal", 0.5))

    @property
    def dominant_emotion(self) -> str:
        return str(self.emotion.get("dominant_emotion", "neutral"))

    @property
    def engagement(self) -> float:
        return float(self.cognitive.get("engagement", 0.5))

    def timeline_entry(self) -> dict[str, Any]:
        u = self.utterance
        return {
            "utterance_id": u.utterance_id,
            "speaker": u.speaker,
            "t_start": round(float(u.t_start), 3),
            "t_end": round(float(u.t_end), 3),
            "text": u.text,
            "asr_confidence": round(float(u.asr_confidence), 3),
            "prosody": self.prosody,
            "prosody_desc": self.prosody_desc,
            "emotion": self.emotion,
            "sentiment": self.sentiment,
            "polarity": self.polarity,
            "subjectivity": self.subjectivity,
            "cognitive": self.cognitive,
            "commitment_score": self.commitment_score,
            "commitment_level": self.commitment_level,
            "passion_score": self.passion_score,
            "passion_level": self.passion_level,
            "conviction_score": self.conviction_score,
            "lexical_markers": self.lexical_markers,
            "acoustic_reasoning": self.acoustic_reasoning,
            "confidence": self.confidence,
        }

    def to_dict(self) -> dict[str, Any]:
        return self.timeline_entry()

    def emotion_event(self) -> dict[str, Any]:
        """SSE `emotion` payload. The distribution is flat under `emotion` as in the REPLAY
        example; `dominant_emotion` is added beside it."""
        e = self.emotion
        return {
            "utterance_id": self.utterance.utterance_id,
            "speaker_id": self.utterance.speaker,
            "emotion": dict(e.get("emotions", {})),
            "dominant_emotion": e.get("dominant_emotion", "neutral"),
            "scores": dict(e.get("scores", {})),
            "confidence": e.get("confidence", 0.0),
            "stability": "final",
        }

    def cognitive_event(self) -> dict[str, Any]:
        c = self.cognitive
        return {
            "utterance_id": self.utterance.utterance_id,
            "speaker": self.utterance.speaker,
            "engagement": c.get("engagement", 0.0),
            "focus": c.get("focus", 0.0),
            "cognitive_load": c.get("cognitive_load", 0.0),
            "signals": list(c.get("signals", [])),
            "rationale": c.get("rationale", ""),
        }

    def agent_payload(self) -> dict[str, Any]:
        """One element of the API's `agent_results` array: the raw per-utterance outputs."""
        return {
            "utterance_id": self.utterance.utterance_id,
            "speaker": self.utterance.speaker,
            "emotion": self.emotion,
            "sentiment": self.sentiment,
            "cognitive": self.cognitive,
            "agents": self.agent_results,
        }


@dataclass(slots=True)
class Transition:
    transition_id: str
    at_ms: int
    from_state: dict[str, Any]
    to_state: dict[str, Any]
    drivers: dict[str, Any]
    evidence_utterance_ids: list[str]
    confidence: float
    stability: str = "final"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Moment:
    moment_id: str
    category: str
    speaker_id: str
    start_ms: int
    end_ms: int
    utterance_ids: list[str]
    summary: str
    labels: list[str]
    confidence: float
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fmt_ts(seconds: float) -> str:
    """`[mm:ss]` reference used in key insights (reference §10.2 suggests `[00:12]`)."""
    s = max(0, round(seconds))
    return f"[{s // 60:02d}:{s % 60:02d}]"


_WORD_RE = re.compile(r"[A-Za-z']+|\d+")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens; apostrophes kept so "don't" stays one token."""
    return [t.lower().strip("'") for t in _WORD_RE.findall(text or "") if t.strip("'")]


def clamp01(x: float) -> float:
    return 0.0 if x != x else max(0.0, min(1.0, float(x)))  # NaN → 0


def r3(x: float) -> float:
    return round(float(x), 3)
