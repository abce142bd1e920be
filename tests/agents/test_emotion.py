from __future__ import annotations

import math

import pytest

from sessions_app.agents import EMOTIONS, AnalysisContext, analyze_utterance


def _utt(labelled, dialogue: str, index: int):
    return labelled[dialogue]["utterances"][index]["utt"]


def test_angry_complaint_scores_negative_valence_and_high_anger(labelled):
    a = analyze_utterance(_utt(labelled, "d1_support", 1))  # "This is unacceptable! ..."
    assert a.prosody, "synthesised audio should give prosody"
    assert a.emotion["scores"]["valence"] < 0.5
    emo = a.emotion["emotions"]
    assert emo["anger"] + emo["disgust"] >= 0.5
    assert a.dominant_emotion in ("anger", "disgust")
    assert a.polarity < 0


def test_angry_complaint_without_audio_is_still_negative(make_utt):
    a = analyze_utterance(make_utt("This is unacceptable, I have been waiting for three weeks!"))
    assert a.prosody == {}
    assert a.valence < 0.5
    assert a.dominant_emotion in ("anger", "disgust")


def test_relieved_thanks_is_positive_joy(labelled):
    a = analyze_utterance(_utt(labelled, "d1_support", 5))  # "Oh, thank you so much. What a relief"
    assert a.dominant_emotion == "joy"
    assert a.valence > 0.6


def test_sad_news_in_slow_low_voice_reads_as_sadness(labelled):
    a = analyze_utterance(_utt(labelled, "d3_smalltalk", 3))
    assert a.dominant_emotion == "sadness"
    assert a.arousal < 0.4


def test_fast_silence_free_speech_scores_higher_arousal_than_slow_flat_speech(labelled):
    fast = analyze_utterance(_utt(labelled, "p1_arousal_pair", 0))
    slow = analyze_utterance(_utt(labelled, "p1_arousal_pair", 1))
    assert fast.utterance.text == slow.utterance.text  # only the voice differs
    assert fast.prosody["speaking_rate_sps"] > slow.prosody["speaking_rate_sps"]
    assert fast.prosody["pause_ratio"] < slow.prosody["pause_ratio"]
    assert fast.emotion["sources"]["acoustic_arousal"] > slow.emotion["sources"]["acoustic_arousal"]
    assert fast.arousal > slow.arousal + 0.2


def test_valence_orders_angry_below_neutral_below_happy(labelled):
    groups: dict[str, list[float]] = {"anger": [], "neutral": [], "joy": []}
    for d in labelled.values():
        if d.get("holdout"):
            continue
        for u in d["utterances"]:
            if u["emotion"] in groups:
                groups[u["emotion"]].append(analyze_utterance(u["utt"]).valence)
    mean = {k: sum(v) / len(v) for k, v in groups.items()}
    assert mean["anger"] < mean["neutral"] < mean["joy"]


@pytest.mark.parametrize(
    "text",
    ["", "ok", "I am so happy!!!", "I hate this, it is disgusting and I'm scared", "Wow, really?"],
)
def test_emotion_distribution_sums_to_one_and_pad_in_unit_range(make_utt, text):
    a = analyze_utterance(make_utt(text))
    dist = a.emotion["emotions"]
    assert set(dist) == set(EMOTIONS)
    assert math.isclose(sum(dist.values()), 1.0, abs_tol=1e-6)
    assert all(0.0 <= v <= 1.0 for v in dist.values())
    for k in ("valence", "arousal", "dominance"):
        assert 0.0 <= a.emotion["scores"][k] <= 1.0
    event = a.emotion_event()
    assert math.isclose(sum(event["emotion"].values()), 1.0, abs_tol=1e-6)
    assert 0.0 <= event["confidence"] <= 1.0


def test_distribution_sums_to_one_on_every_labelled_utterance(labelled):
    ctx = AnalysisContext()
    for d in labelled.values():
        for u in d["utterances"]:
            a = analyze_utterance(u["utt"], ctx)
            assert math.isclose(sum(a.emotion["emotions"].values()), 1.0, abs_tol=1e-6)
            assert all(0 <= v <= 1 for v in a.emotion["scores"].values())


def test_negated_joy_is_not_joy(make_utt):
    a = analyze_utterance(make_utt("I am not happy with this at all."))
    assert a.dominant_emotion != "joy"
    assert a.valence < 0.5
