"""What a responder is given and gives: the conversation's turns and the interface.

See sessions_app.dialogue.responders for the two implementations and the factory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class ResponderError(Exception):
    """A reply could not be produced (misconfiguration, unreachable or failing model)."""


# --- turns -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmotionScore:
    label: str
    score: float  # 0-1


@dataclass(frozen=True)
class Emotion:
    """How the user sounded in a turn: the dominant label and the top labels, best first."""

    dominant: str = "neutral"
    top: tuple[EmotionScore, ...] = ()

    @classmethod
    def from_distribution(cls, scores: Mapping[str, float], limit: int = 3) -> Emotion:
        """From a label → score mapping (the emotion agent's `emotions`)."""
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:limit]
        if not ranked:
            return cls()
        return cls(ranked[0][0], tuple(EmotionScore(label, float(s)) for label, s in ranked))


@dataclass(frozen=True)
class UserTurn:
    text: str
    emotion: Emotion = field(default_factory=Emotion)


@dataclass(frozen=True)
class AssistantTurn:
    """What the assistant said; when interrupted, only the part that was played."""

    text: str
    interrupted: bool = False


Turn = UserTurn | AssistantTurn


class Responder(Protocol):
    name: str

    def reply(
        self, system_prompt: str, history: Sequence[Turn], turn: UserTurn
    ) -> AsyncIterator[str]:
        """The reply to `turn`, as text deltas whose concatenation is the whole reply."""
        ...

    async def aclose(self) -> None:
        """Release what the responder holds (connections); it is not used afterwards."""
        ...


# How each emotion label sounds, for the reply's tone (both responders use it).
_TONE_OF = {
    **dict.fromkeys(
        ("anger", "angry", "disgust", "contempt", "frustration", "annoyance"), "frustrated"
    ),
    **dict.fromkeys(("sadness", "sad", "disappointment", "grief"), "sad"),
    **dict.fromkeys(("fear", "anxiety", "nervousness"), "worried"),
    **dict.fromkeys(("joy", "happy", "excitement", "amusement", "gratitude", "love"), "happy"),
    "surprise": "surprised",
    "confusion": "confused",
}


def tone_of(emotion: Emotion) -> str:
    return _TONE_OF.get(emotion.dominant.strip().lower(), "neutral")
