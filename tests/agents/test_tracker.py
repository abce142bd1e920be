from __future__ import annotations

import json
import re

from sessions_app.agents import (
    ConversationTracker,
    LatencyStats,
    UtteranceAnalyzer,
    agent_latency_ms,
    analyze_conversation,
    available_summarisers,
    get_summariser,
    runner,
)
from sessions_app.agents.runner import DEFAULT_UTTERANCE_AGENTS
from sessions_app.surfaces.analytics import event_shapes

SUPPORT_CALL = [
    ("Speaker_0", "Hello, thanks for calling. How can I help you today?"),
    ("Speaker_1", "This is unacceptable! My internet has been down for three days!"),
    ("Speaker_0", "I'm sorry about that. Can you give me your account number?"),
    ("Speaker_1", "It's 4471. I want to speak to a manager, I am fed up!"),
    ("Speaker_0", "I have fixed the line and credited your account for the week."),
    ("Speaker_1", "Oh, thank you so much. What a relief, it works now."),
    ("Speaker_0", "You're welcome. Have a great day, goodbye."),
]


def _utts(make_utt):
    return [make_utt(text, speaker) for speaker, text in SUPPORT_CALL]


def _boom(*_args):
    raise RuntimeError("emotion model exploded")


def test_failing_agent_does_not_fail_the_conversation(make_utt):
    agents = {**DEFAULT_UTTERANCE_AGENTS, "emotion": _boom}
    tracker = ConversationTracker("fail", analyzer=UtteranceAnalyzer(agents, LatencyStats()))
    for u in _utts(make_utt):
        upd = tracker.add_utterance(u)
        assert upd.analysis.emotion == {}
        assert upd.analysis.agent_results["emotion"]["status"] == "failed"
        assert "exploded" in upd.analysis.agent_results["emotion"]["error"]
        assert upd.analysis.sentiment and upd.analysis.cognitive  # the others still ran
        names = [name for name, _ in event_shapes.analysis(upd)]
        assert names[:2] == ["emotion", "cognitive"]
    res = tracker.finalize()
    assert res.summary["overview"] and res.insights and res.segmentation["phases"]
    assert all(r["status"] == "ok" for r in res.conversation_agents.values())


def test_failing_conversation_agent_empties_only_its_output(make_utt, monkeypatch):
    import sessions_app.agents.tracker as tracker_mod

    monkeypatch.setattr(tracker_mod, "build_insights", _boom)
    tracker = ConversationTracker("fail2")
    for u in _utts(make_utt):
        tracker.add_utterance(u)
    res = tracker.finalize()
    assert res.insights == {}
    assert res.conversation_agents["insights"]["status"] == "failed"
    assert res.summary["key_insights"] and res.segmentation["phases"]


def test_unconfigured_model_summariser_falls_back_to_offline(make_utt):
    assert {"offline", "openai_compatible"} <= set(available_summarisers())
    tracker = ConversationTracker("llm", summariser=get_summariser("openai_compatible"))
    for u in _utts(make_utt):
        tracker.add_utterance(u)
    res = tracker.finalize()
    assert res.summary["overview"]
    assert res.conversation_agents["summary"]["status"] == "fallback"


def test_live_tracker_reports_moments_and_transitions_as_they_occur(make_utt):
    tracker = ConversationTracker("live")
    seen: list[tuple[int, str]] = []
    transitions = []
    for i, u in enumerate(_utts(make_utt)):
        upd = tracker.add_utterance(u)
        seen += [(i, m.category) for m in upd.moments]
        transitions += upd.transitions
    assert (1, "complaint") in seen
    assert (5, "resolution") in seen
    # The customer calms down: the smoothed state leaves "tense" at the relieved thanks.
    cust = [t for t in transitions if t.from_state["speaker"] == "Speaker_1"]
    assert cust and cust[-1].from_state["mood"] == "tense"
    assert cust[-1].to_state["mood"] in ("neutral", "energised", "content")
    assert cust[-1].drivers["valence_delta"] > 0
    assert "test_utt_0005" in cust[-1].evidence_utterance_ids


def test_results_are_json_serialisable_with_reference_top_level_keys(make_utt):
    res = analyze_conversation(_utts(make_utt), "ser")
    d = json.loads(json.dumps(res.to_dict()))
    assert {"timeline", "summary", "insights", "transitions", "moments", "segmentation",
            "agent_results", "utterances", "conversation_id"} <= set(d)  # fmt: skip
    assert d["utterances"] == len(SUPPORT_CALL)
    assert {"utterance_id", "emotion", "sentiment", "cognitive", "agents"} <= set(
        d["agent_results"][0]
    )


def test_summary_is_useful_and_references_timestamps(make_utt):
    res = analyze_conversation(_utts(make_utt), "sum")
    s = res.summary
    assert re.search(r"2 speaker", s["overview"])
    assert s["key_insights"] and all(re.match(r"\[\d\d:\d\d\] ", k) for k in s["key_insights"])
    assert any("complain" in k for k in s["key_insights"])
    assert s["what_went_wrong"] and s["what_went_well"] and s["recommendations"]
    assert s["conversation_quality"] in ("excellent", "good", "fair", "poor")
    assert set(s["speaker_dynamics"]["speakers"]) == {"Speaker_0", "Speaker_1"}


def test_insights_follow_the_reference_shape(make_utt):
    ins = analyze_conversation(_utts(make_utt), "ins").insights
    assert set(ins["overall_sentiment"]) == {"mean", "std", "trend"}
    assert ins["overall_sentiment"]["trend"] in (
        "improving", "declining", "positive", "negative", "neutral"
    )  # fmt: skip
    assert ins["engagement_pattern"] in ("increasing", "decreasing", "stable", "fluctuating")
    assert ins["dominant_emotions"] and ins["key_moments"]
    assert set(ins["speaker_profiles"]) == {"Speaker_0", "Speaker_1"}


def test_latency_stats_feed_metrics(make_utt, monkeypatch):
    # The process-wide stats, fresh: what /metrics reports comes from this test alone.
    process_stats = LatencyStats()
    monkeypatch.setattr(runner, "STATS", process_stats)
    agents = {"utterance", "emotion", "sentiment", "lexical", "cognitive", "stance"}

    stats = LatencyStats()
    analyzer = UtteranceAnalyzer(stats=stats)
    for u in _utts(make_utt):
        analyzer.analyze(u)
    means = stats.mean_ms()
    assert agents <= set(means)
    assert all(v >= 0 for v in means.values())
    assert agent_latency_ms() == {}, "an analyzer given its own stats feeds only those"

    for u in _utts(make_utt):
        UtteranceAnalyzer().analyze(u)
    reported = agent_latency_ms()
    assert agents <= set(reported)
    assert reported == process_stats.mean_ms()
    assert reported["utterance"] > 0
