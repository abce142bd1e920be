from __future__ import annotations

import pytest

from sessions_app.agents import (
    AgentError,
    EmptyTimelineError,
    InvalidTimelineError,
    analyze_conversation,
    segment,
)

PHASE_KEYS = {
    "phase_id", "phase_name", "start_timestamp", "end_timestamp", "start_utterance_id",
    "end_utterance_id", "utterance_count", "theme", "summary", "emotional_tone", "key_moments",
    "transition_signal",
}  # fmt: skip


@pytest.mark.parametrize("timeline", [None, []])
def test_segment_on_missing_or_empty_timeline_raises_typed_error(timeline):
    with pytest.raises(EmptyTimelineError):
        segment(timeline, "")


@pytest.mark.parametrize(
    "timeline",
    [[{"text": "hello"}], ["not an object"], {"utterance_id": "x"}, [{"utterance_id": "a",
     "t_start": "soon", "t_end": 1, "text": "hi"}]],
)  # fmt: skip
def test_segment_on_malformed_timeline_raises_typed_error(timeline):
    with pytest.raises(InvalidTimelineError) as exc:
        segment(timeline, "")
    assert isinstance(exc.value, AgentError) and isinstance(exc.value, ValueError)


def _timeline(dialogue) -> list[dict]:
    return [
        {
            "utterance_id": u["utt"].utterance_id,
            "speaker": u["utt"].speaker,
            "t_start": u["utt"].t_start,
            "t_end": u["utt"].t_end,
            "text": u["utt"].text,
        }
        for u in dialogue["utterances"]
    ]


def test_segment_accepts_minimal_entries_and_returns_reference_schema(labelled):
    seg = segment(_timeline(labelled["d1_support"]), "highlight trust-building moments")
    assert set(seg) == {
        "phases", "total_phases", "segmentation_rationale", "narrative_arc", "key_transitions"
    }  # fmt: skip
    assert seg["total_phases"] == len(seg["phases"]) >= 1
    for p in seg["phases"]:
        assert set(p) == PHASE_KEYS
    assert seg["phases"][0]["transition_signal"] is None
    assert sum(p["utterance_count"] for p in seg["phases"]) == 7
    for kt in seg["key_transitions"]:
        assert set(kt) == {"timestamp", "from_phase", "to_phase", "trigger"}
    assert "trust-building" in seg["segmentation_rationale"]


def test_support_call_splits_into_opening_problem_resolution(labelled):
    seg = segment(_timeline(labelled["d1_support"]))
    starts = [p["start_utterance_id"][-4:] for p in seg["phases"]]
    assert starts == ["0000", "0001", "0004"]
    assert seg["narrative_arc"] == "problem-solution"
    names = [p["phase_name"] for p in seg["phases"]]
    assert names[-1] == "Resolution"


def test_single_utterance_timeline_is_one_phase():
    seg = segment([{"utterance_id": "u0", "speaker": "Speaker_0", "t_start": 0, "t_end": 2,
                    "text": "Hello there."}])  # fmt: skip
    assert seg["total_phases"] == 1
    assert seg["phases"][0]["start_utterance_id"] == seg["phases"][0]["end_utterance_id"] == "u0"


def test_segment_reuses_emotion_scores_from_the_timeline(labelled):
    tl = _timeline(labelled["d3_smalltalk"])
    for e in tl:
        e["emotion"] = {"scores": {"valence": 0.1, "arousal": 0.9, "dominance": 0.5}}
    seg = segment(tl)
    assert all(p["emotional_tone"] == "frustrated" for p in seg["phases"])


def test_conversation_segmentation_matches_standalone(labelled):
    d = labelled["d2_sales"]
    res = analyze_conversation([u["utt"] for u in d["utterances"]], "d2")
    starts = [p["start_utterance_id"][-4:] for p in res.segmentation["phases"]]
    assert starts == ["0000", "0001", "0005"]
    assert res.segmentation["narrative_arc"] in ("objection-to-commitment", "problem-solution")
