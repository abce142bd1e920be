"""Engine utterances in, Illocution analytics events out.

One ConversationAnalysis per conversation, fed utterances in time order (batch or
live). For each it yields final_transcript, emotion, cognitive and any transition
or moment, in the documented order; `finish` gives the summary, insights and
segmentation. Agents never fail the conversation (see sessions_app.agents).
"""

from collections.abc import Callable
from typing import Any

import numpy as np

from sessions_app import agents
from sessions_app.engine import Utterance

# (speaker, t_start, t_end) -> that stretch of the speaker's audio at 16 kHz, or None.
AudioSlicer = Callable[[str, float, float], np.ndarray | None]
Events = list[tuple[str, dict[str, Any]]]


def final_transcript(utterance_id: str, utterance: Utterance) -> dict[str, Any]:
    return {
        "utterance_id": utterance_id,
        "speaker": utterance.speaker,
        "t_start": round(utterance.t_start, 3),
        "t_end": round(utterance.t_end, 3),
        "text": utterance.text.strip(),
        "asr_confidence": round(utterance.asr_confidence, 3),
    }


class ConversationAnalysis:
    def __init__(self, conversation_id: str, *, focus: str = "", audio: AudioSlicer | None = None):
        self.conversation_id = conversation_id
        self.audio = audio
        self.tracker = agents.ConversationTracker(conversation_id, focus=focus)
        self.count = 0

    def add(self, utterance: Utterance) -> Events:
        transcript = self.transcript(utterance)
        return [transcript, *self.analyse(utterance, transcript[1]["utterance_id"])]

    def transcript(self, utterance: Utterance) -> tuple[str, dict[str, Any]]:
        """The utterance's final_transcript event; numbers the utterance."""
        utterance_id = f"{self.conversation_id}_utt_{self.count:04d}"
        self.count += 1
        return "final_transcript", final_transcript(utterance_id, utterance)

    def analyse(self, utterance: Utterance, utterance_id: str) -> Events:
        """The agents' events for an utterance already numbered by `transcript`."""
        samples = (
            self.audio(utterance.speaker, utterance.t_start, utterance.t_end)
            if self.audio
            else None
        )
        update = self.tracker.add_utterance(
            agents.Utterance(
                utterance_id=utterance_id,
                speaker=utterance.speaker,
                t_start=utterance.t_start,
                t_end=utterance.t_end,
                text=utterance.text.strip(),
                words=[(w.word, w.start, w.end, w.confidence) for w in utterance.words],
                asr_confidence=utterance.asr_confidence,
                audio=samples,
            )
        )
        return update.events()

    def finish(self) -> agents.ConversationResult:
        return self.tracker.finalize()
