"""A conversation's analysis agents, fed engine utterances in time order (batch or live).

`add` numbers an utterance and runs the agents over it in the conversation's context,
returning the agents' typed `TrackerUpdate`; surfaces word it in their own format
(Illocution: surfaces/analytics/event_shapes.py). `finish` gives the conversation's
summary, insights and segmentation. Agents never fail the conversation (see
sessions_app.agents).
"""

from collections.abc import Callable

import numpy as np

from sessions_app import agents
from sessions_app.agents.tracker import TrackerUpdate
from sessions_app.engine import Utterance

# (speaker, t_start, t_end) -> that stretch of the speaker's audio at 16 kHz, or None.
AudioSlicer = Callable[[str, float, float], np.ndarray | None]


class ConversationAnalysis:
    def __init__(self, conversation_id: str, *, focus: str = "", audio: AudioSlicer | None = None):
        self.conversation_id = conversation_id
        self.audio = audio
        self.tracker = agents.ConversationTracker(conversation_id, focus=focus)
        self.count = 0

    def number(self) -> str:
        """The next utterance's id, as every surface reports it."""
        utterance_id = f"{self.conversation_id}_utt_{self.count:04d}"
        self.count += 1
        return utterance_id

    def add(self, utterance: Utterance) -> tuple[str, TrackerUpdate]:
        utterance_id = self.number()
        return utterance_id, self.analyse(utterance, utterance_id)

    def analyse(self, utterance: Utterance, utterance_id: str) -> TrackerUpdate:
        """The agents' update for an utterance already numbered by `number`."""
        samples = (
            self.audio(utterance.speaker, utterance.t_start, utterance.t_end)
            if self.audio
            else None
        )
        return self.tracker.add_utterance(
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

    def finish(self) -> agents.ConversationResult:
        return self.tracker.finalize()
