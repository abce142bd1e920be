"""The Illocution event shapes (seed 000, reference §9-§10), built once.

Batch analysis, replay and live capture all word their SSE events here, from the
engine's utterances and the agents' typed updates; the agents know nothing of them.
"""

from typing import Any

from sessions_app.agents.tracker import TrackerUpdate
from sessions_app.engine import Event, Utterance

Produced = list[tuple[str, dict[str, Any]]]


def final_transcript(utterance_id: str, utterance: Utterance) -> tuple[str, dict[str, Any]]:
    return "final_transcript", {
        "utterance_id": utterance_id,
        "speaker": utterance.speaker,
        "t_start": round(utterance.t_start, 3),
        "t_end": round(utterance.t_end, 3),
        "text": utterance.text.strip(),
        "asr_confidence": round(utterance.asr_confidence, 3),
    }


def partial_transcript(
    conversation_id: str, index: int, event: Event
) -> tuple[str, dict[str, Any]]:
    return "partial_transcript", {
        "partial_id": f"{conversation_id}_partial_{index:05d}",
        # A stream's utterances are its segments, numbered as ConversationAnalysis does.
        "utterance_id": f"{conversation_id}_utt_{event.segment:04d}",
        "text": event.text,
        "stable_text": event.stable_text,
        "is_final": False,
    }


def analysis(update: TrackerUpdate) -> Produced:
    """An utterance's agent events in the documented order: emotion, cognitive, then
    any transition and moment it brought."""
    return [
        ("emotion", update.analysis.emotion_event()),
        ("cognitive", update.analysis.cognitive_event()),
        *(("transition", t.to_dict()) for t in update.transitions),
        *(("moment", m.to_dict()) for m in update.moments),
    ]
