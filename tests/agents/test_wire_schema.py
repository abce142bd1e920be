"""Field names must match the Illocution reference exactly (reference §9-§10)."""

from __future__ import annotations

from sessions_app.agents import EMOTIONS, MOMENT_CATEGORIES, analyze_conversation, analyze_utterance

TIMELINE_KEYS = {
    "utterance_id", "speaker", "t_start", "t_end", "text", "asr_confidence", "prosody",
    "prosody_desc", "emotion", "sentiment", "polarity", "subjectivity", "cognitive",
    "commitment_score", "commitment_level", "passion_score", "passion_level", "conviction_score",
    "lexical_markers", "acoustic_reasoning", "confidence",
}  # fmt: skip
SUMMARY_KEYS = {
    "overview", "key_insights", "notable_patterns", "recommendations", "what_went_well",
    "what_went_wrong", "speaker_dynamics", "conversation_quality",
}  # fmt: skip
INSIGHT_KEYS = {
    "overall_sentiment", "dominant_emotions", "engagement_pattern", "key_moments",
    "speaker_profiles", "conversation_dynamics", "cognitive_profile",
}  # fmt: skip
TRANSITION_KEYS = {
    "transition_id", "at_ms", "from_state", "to_state", "drivers", "evidence_utterance_ids",
    "confidence", "stability",
}  # fmt: skip
MOMENT_KEYS = {
    "moment_id", "category", "speaker_id", "start_ms", "end_ms", "utterance_ids", "summary",
    "labels", "confidence", "evidence",
}  # fmt: skip


def test_timeline_entry_and_sse_payload_fields(labelled):
    a = analyze_utterance(labelled["d1_support"]["utterances"][1]["utt"])
    assert set(a.timeline_entry()) == TIMELINE_KEYS
    ev = a.emotion_event()
    assert set(ev) == {"utterance_id", "speaker_id", "emotion", "dominant_emotion", "scores",
                       "confidence", "stability"}  # fmt: skip
    assert set(ev["emotion"]) == set(EMOTIONS)
    assert set(ev["scores"]) == {"valence", "arousal", "dominance"}
    assert ev["stability"] == "final"
    cog = a.cognitive_event()
    assert set(cog) == {"utterance_id", "speaker", "engagement", "focus", "cognitive_load",
                        "signals", "rationale"}  # fmt: skip
    assert isinstance(cog["signals"], list) and isinstance(cog["rationale"], str)
    assert a.commitment_level in ("low", "medium", "high")
    assert a.passion_level in ("low", "medium", "high")
    assert -1 <= a.polarity <= 1 and 0 <= a.subjectivity <= 1 and 0 <= a.confidence <= 1


def test_conversation_objects_fields(labelled):
    utts = [u["utt"] for u in labelled["d1_support"]["utterances"]]
    res = analyze_conversation(utts, "schema")
    assert set(res.summary) == SUMMARY_KEYS
    assert set(res.insights) == INSIGHT_KEYS
    assert res.moments and res.transitions
    for m in res.moments:
        assert set(m) == MOMENT_KEYS
        assert m["category"] in MOMENT_CATEGORIES
        assert m["start_ms"] <= m["end_ms"] and isinstance(m["start_ms"], int)
    for t in res.transitions:
        assert set(t) == TRANSITION_KEYS
        assert isinstance(t["at_ms"], int) and t["stability"] == "final"
