"""Parlance conversation analytics agents — pure Python, no Django, no network.

Public API (field names follow the Illocution reference §9-§12; inner keys of open objects are
listed in docs/analytics.md and are stable):

Inputs
    Word(word, start, end, confidence=1.0)             # or tuples (word, start, end, conf)
    Utterance(utterance_id, speaker, t_start, t_end, text, words=[], asr_confidence=1.0,
              audio: np.ndarray | None = None, sample_rate=16000)
    AnalysisContext(conversation_id="analysis", focus="", previous=[], speaker_baselines={})

Per utterance
    analyze_utterance(utt, context=None) -> UtteranceAnalysis
        .timeline_entry() / .to_dict()   TimelineEntry dict
        .emotion_event()                 SSE `emotion` payload
        .cognitive_event()               SSE `cognitive` payload
        .agent_results                   {agent: {status: ok|failed|skipped, latency_ms, error}}
        .agent_payload()                 one element of AnalysisResponse.agent_results
    UtteranceAnalyzer(agents=None, stats=None).analyze(utt, context)   # custom agent sets

Conversation (live or batch)
    tracker = ConversationTracker(conversation_id, focus="", summariser=None)
    update = tracker.add_utterance(utt)    # or tracker.feed(analysis)
        update.transitions: list[Transition]; update.moments: list[Moment]
        update.analysis: UtteranceAnalysis (surfaces word it: analytics/event_shapes.py)
    result = tracker.finalize() -> ConversationResult
        .summary (ConversationSummary) .insights .segmentation .timeline .transitions
        .moments .agent_results .conversation_agents  .to_dict()
    analyze_conversation(utterances, conversation_id, focus="", summariser=None)

Segmentation endpoint
    segment(timeline: list[dict], context: str = "") -> ConversationSegmentation dict
        raises EmptyTimelineError / InvalidTimelineError (both AgentError, ValueError) → 400

Summarisers (pluggable)
    Summariser protocol; register_summariser(name, factory); get_summariser(name, **options)
    built in: "offline" (default), "openai_compatible" (configuration seam, not implemented;
    the tracker falls back to offline and reports status "fallback")

Metrics
    agent_latency_ms() -> {"utterance": mean_ms, "prosody": mean_ms, ...}   # for /metrics
    STATS: LatencyStats (mean_ms(), p95_ms(), reset())
    warm_up()   # load lexicons once at process start (~0.3 s)
"""

from .lexicon import warm_up
from .runner import STATS, LatencyStats, UtteranceAnalyzer, agent_latency_ms, analyze_utterance
from .segmentation import segment
from .summary import (
    ConversationView,
    OfflineSummariser,
    OpenAICompatibleSummariser,
    Summariser,
    SummariserUnavailable,
    available_summarisers,
    get_summariser,
    register_summariser,
)
from .tracker import ConversationResult, ConversationTracker, TrackerUpdate, analyze_conversation
from .types import (
    EMOTIONS,
    MOMENT_CATEGORIES,
    AgentError,
    AnalysisContext,
    EmptyTimelineError,
    InvalidTimelineError,
    Moment,
    Transition,
    Utterance,
    UtteranceAnalysis,
    Word,
)

__all__ = [
    "EMOTIONS",
    "MOMENT_CATEGORIES",
    "STATS",
    "AgentError",
    "AnalysisContext",
    "ConversationResult",
    "ConversationTracker",
    "ConversationView",
    "EmptyTimelineError",
    "InvalidTimelineError",
    "LatencyStats",
    "Moment",
    "OfflineSummariser",
    "OpenAICompatibleSummariser",
    "Summariser",
    "SummariserUnavailable",
    "TrackerUpdate",
    "Transition",
    "Utterance",
    "UtteranceAnalysis",
    "UtteranceAnalyzer",
    "Word",
    "agent_latency_ms",
    "analyze_conversation",
    "analyze_utterance",
    "available_summarisers",
    "get_summariser",
    "register_summariser",
    "segment",
    "warm_up",
]
