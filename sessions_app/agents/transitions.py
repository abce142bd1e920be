"""Transition agent: detects affective state changes per speaker, live.

Each speaker's valence/arousal/engagement are smoothed with an exponential moving average so
that one odd utterance does not flip the state; the smoothed point is mapped to a mood
quadrant with hysteresis at the band edges. A Transition is emitted when the mood label
changes, carrying the before/after state and the drivers (deltas and the cues of the utterance
that tipped it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .types import Moment, Transition, UtteranceAnalysis, clamp01, r3

ALPHA = 0.5  # weight of the newest utterance: responsive but not twitchy
HYSTERESIS = 0.05
MIN_SHIFT = 0.1  # smoothed valence+arousal movement needed to call a change
MOODS = ("tense", "subdued", "energised", "content", "neutral")


def mood_of(valence: float, arousal: float, previous: str | None = None) -> str:
    """Quadrant of the valence/arousal plane. The band the speaker is already in is widened by
    HYSTERESIS so a state sitting on an edge does not flicker between two moods."""
    neg_cut = 0.4 + (HYSTERESIS if previous in ("tense", "subdued") else 0.0)
    pos_cut = 0.6 - (HYSTERESIS if previous in ("energised", "content") else 0.0)
    a_cut = 0.55
    if previous in ("tense", "energised"):
        a_cut -= HYSTERESIS
    elif previous in ("subdued", "content"):
        a_cut += HYSTERESIS
    if valence < neg_cut:
        return "tense" if arousal >= a_cut else "subdued"
    if valence > pos_cut:
        return "energised" if arousal >= a_cut else "content"
    return "neutral"


@dataclass
class _SpeakerState:
    valence: float
    arousal: float
    engagement: float
    emotion: str
    mood: str
    utterance_ids: list[str] = field(default_factory=list)
    anchor_valence: float = 0.5  # smoothed values when the current mood was entered
    anchor_arousal: float = 0.5

    def as_state(self, speaker: str) -> dict[str, Any]:
        return {
            "speaker": speaker,
            "mood": self.mood,
            "dominant_emotion": self.emotion,
            "valence": r3(self.valence),
            "arousal": r3(self.arousal),
            "engagement": r3(self.engagement),
        }


class TransitionTracker:
    def __init__(self, conversation_id: str = "analysis") -> None:
        self.conversation_id = conversation_id
        self.states: dict[str, _SpeakerState] = {}
        self.transitions: list[Transition] = []

    def update(self, a: UtteranceAnalysis, moments: list[Moment] | None = None) -> list[Transition]:
        if not a.emotion:
            return []  # nothing affective to track for this utterance
        spk = a.speaker
        v, ar, en = a.valence, a.arousal, a.engagement
        st = self.states.get(spk)
        if st is None:
            self.states[spk] = _SpeakerState(
                v, ar, en, a.dominant_emotion, mood_of(v, ar), [a.utterance_id], v, ar
            )
            return []
        before = st.as_state(spk)
        st.valence = ALPHA * v + (1 - ALPHA) * st.valence
        st.arousal = ALPHA * ar + (1 - ALPHA) * st.arousal
        st.engagement = ALPHA * en + (1 - ALPHA) * st.engagement
        st.emotion = a.dominant_emotion
        st.utterance_ids = [*st.utterance_ids[-1:], a.utterance_id]
        mood = mood_of(st.valence, st.arousal, st.mood)
        dv = st.valence - st.anchor_valence
        da = st.arousal - st.anchor_arousal
        if mood == st.mood or abs(dv) + abs(da) < MIN_SHIFT:
            return []
        # Report the change relative to where the previous mood was established.
        before = {**before, "valence": r3(st.anchor_valence), "arousal": r3(st.anchor_arousal)}
        st.mood, st.anchor_valence, st.anchor_arousal = mood, st.valence, st.arousal
        after = st.as_state(spk)
        cues = list(a.emotion.get("sources", {}).get("acoustic_cues", []))
        cues += list(a.emotion.get("sources", {}).get("lexical_matches", []))[:4]
        drivers = {
            "valence_delta": r3(dv),
            "arousal_delta": r3(da),
            "engagement_delta": r3(after["engagement"] - before["engagement"]),
            "emotion_shift": f"{before['dominant_emotion']}→{after['dominant_emotion']}",
            "primary": "valence" if abs(dv) >= abs(da) else "arousal",
            "cues": cues,
            "moment_categories": [m.category for m in (moments or [])],
        }
        t = Transition(
            transition_id=f"{self.conversation_id}_t_{len(self.transitions):04d}",
            at_ms=round(a.utterance.t_start * 1000),
            from_state=before,
            to_state=after,
            drivers=drivers,
            evidence_utterance_ids=list(st.utterance_ids),
            confidence=r3(
                clamp01(
                    0.45
                    + 1.2 * (abs(dv) + abs(da)) / 2
                    + 0.3 * float(a.emotion.get("confidence", 0))
                    - 0.15
                )
            ),
            stability="final",
        )
        self.transitions.append(t)
        return [t]
