"""Conversation tracker: the live (and batch) driver of the conversation-level agents.

Feed utterances in order with `add_utterance(utt)` (runs the per-utterance agents with the
conversation's context) or feed already-analysed ones with `feed(analysis)`; each call returns
the Transitions and Moments detected at that utterance (each surface words them its own way). `finalize()`
runs segmentation, insights and the summariser and returns the conversation result. Every agent
is timed and isolated: a failure empties its own output and is listed in `agent_results`.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

from .insights import build_insights
from .moments import MomentDetector
from .prosody import baseline_update
from .runner import STATS, LatencyStats, UtteranceAnalyzer, run_timed
from .segmentation import segment_analyses
from .summary import (
    ConversationView,
    OfflineSummariser,
    Summariser,
    get_summariser,
    validate_summary,
)
from .transitions import TransitionTracker
from .types import AnalysisContext, Moment, Transition, Utterance, UtteranceAnalysis

log = logging.getLogger("parlance.agents")

CONVERSATION_AGENTS = ("moments", "transitions", "segmentation", "insights", "summary")


@dataclass(slots=True)
class TrackerUpdate:
    """What one utterance produced: the analysis and any new transitions/moments."""

    analysis: UtteranceAnalysis
    transitions: list[Transition] = field(default_factory=list)
    moments: list[Moment] = field(default_factory=list)


@dataclass(slots=True)
class ConversationResult:
    conversation_id: str
    timeline: list[dict[str, Any]]
    summary: dict[str, Any]
    insights: dict[str, Any]
    transitions: list[dict[str, Any]]
    moments: list[dict[str, Any]]
    segmentation: dict[str, Any]
    agent_results: list[dict[str, Any]]
    conversation_agents: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """The analysis part of the AnalysisResponse (the surface adds paths and ids)."""
        return {
            "conversation_id": self.conversation_id,
            "utterances": len(self.timeline),
            "timeline": self.timeline,
            "summary": self.summary,
            "insights": self.insights,
            "transitions": self.transitions,
            "moments": self.moments,
            "segmentation": self.segmentation,
            "agent_results": self.agent_results,
        }


class ConversationTracker:
    def __init__(
        self,
        conversation_id: str = "analysis",
        focus: str = "",
        summariser: Summariser | str | None = None,
        analyzer: UtteranceAnalyzer | None = None,
        stats: LatencyStats | None = None,
    ) -> None:
        self.conversation_id = conversation_id
        self.stats = STATS if stats is None else stats
        self.analyzer = analyzer or UtteranceAnalyzer(stats=self.stats)
        self.context = AnalysisContext(conversation_id=conversation_id, focus=focus)
        if isinstance(summariser, str):
            summariser = get_summariser(summariser)
        self.summariser: Summariser = summariser or OfflineSummariser()
        self.moment_detector = MomentDetector(conversation_id)
        self.transition_tracker = TransitionTracker(conversation_id)
        self.analyses: list[UtteranceAnalysis] = []
        self.moments: list[Moment] = []
        self.transitions: list[Transition] = []
        self.agent_status: dict[str, dict[str, Any]] = {}

    # -- live path ------------------------------------------------------------------------
    def add_utterance(self, utt: Utterance) -> TrackerUpdate:
        """Analyse one finalised utterance in conversation context and track it."""
        return self.feed(self.analyzer.analyze(utt, self.context))

    def feed(self, analysis: UtteranceAnalysis) -> TrackerUpdate:
        tag = self.conversation_id
        moments, res = run_timed(
            "moments", lambda: self.moment_detector.detect(analysis), self.stats, tag
        )
        self._note("moments", res)
        moments = moments or []
        transitions, res = run_timed(
            "transitions",
            lambda: self.transition_tracker.update(analysis, moments),
            self.stats,
            tag,
        )
        self._note("transitions", res)
        transitions = transitions or []
        # Keep the analysis but not the utterance's audio: an hour-long live session would
        # otherwise hold ~230 MB of float32 samples that no later agent reads.
        if analysis.utterance.audio is not None:
            analysis.utterance = dataclasses.replace(analysis.utterance, audio=None)
        self.analyses.append(analysis)
        self.moments.extend(moments)
        self.transitions.extend(transitions)
        # Context for the next utterance: recent history and the speaker's voice baseline.
        self.context.previous = self.analyses[-4:]
        if analysis.prosody:
            baseline_update(
                self.context.speaker_baselines.setdefault(analysis.speaker, {}), analysis.prosody
            )
        return TrackerUpdate(analysis, transitions, moments)

    def _note(self, name: str, res: dict[str, Any]) -> None:
        """Conversation-level status: keep the worst outcome and the total latency."""
        prev = self.agent_status.get(name)
        if prev is None:
            self.agent_status[name] = dict(res)
            return
        prev["latency_ms"] = round(prev["latency_ms"] + res["latency_ms"], 2)
        if res["status"] == "failed":
            prev["status"], prev["error"] = "failed", res["error"]

    # -- end of conversation ----------------------------------------------------------------
    def finalize(self) -> ConversationResult:
        tag = self.conversation_id
        seg, res = run_timed(
            "segmentation",
            lambda: segment_analyses(self.analyses, self.moments, self.context.focus),
            self.stats,
            tag,
        )
        self._note("segmentation", res)
        ins, res = run_timed(
            "insights",
            lambda: build_insights(self.analyses, self.moments, self.transitions),
            self.stats,
            tag,
        )
        self._note("insights", res)
        view = ConversationView(
            tag, self.context.focus, self.analyses, self.moments, self.transitions,
            seg or {}, ins or {},
        )  # fmt: skip
        summ, res = run_timed(
            "summary", lambda: validate_summary(self.summariser.summarise(view)), self.stats, tag
        )
        if summ is None and not isinstance(self.summariser, OfflineSummariser):
            # The configured summariser failed: fall back to the offline one, and say so.
            log.warning("[%s] summariser %s failed, using offline", tag, self.summariser.name)
            summ, res2 = run_timed(
                "summary", lambda: OfflineSummariser().summarise(view), self.stats, tag
            )
            res = {**res2, "status": "fallback", "error": res["error"]}
        self._note("summary", res)
        return ConversationResult(
            conversation_id=tag,
            timeline=[a.timeline_entry() for a in self.analyses],
            summary=summ or {},
            insights=ins or {},
            transitions=[t.to_dict() for t in self.transitions],
            moments=[m.to_dict() for m in self.moments],
            segmentation=seg or {},
            agent_results=[a.agent_payload() for a in self.analyses],
            conversation_agents=dict(self.agent_status),
        )


def analyze_conversation(
    utterances: list[Utterance],
    conversation_id: str = "analysis",
    focus: str = "",
    summariser: Summariser | str | None = None,
) -> ConversationResult:
    """Batch helper: run everything over a finished conversation."""
    tracker = ConversationTracker(conversation_id, focus, summariser)
    for utt in sorted(utterances, key=lambda u: u.t_start):
        tracker.add_utterance(utt)
    return tracker.finalize()
