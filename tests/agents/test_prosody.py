from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sessions_app.agents import analyze_utterance
from sessions_app.agents.prosody import ProsodyUnavailable, analyze_prosody

PROSODY_KEYS = {
    "duration_s", "voiced_fraction", "f0_mean_hz", "f0_median_hz", "f0_std_hz", "f0_min_hz",
    "f0_max_hz", "f0_range_st", "f0_std_st", "f0_slope_st_per_s", "intensity_mean_db",
    "intensity_std_db", "intensity_max_db", "rms_dbfs", "speaking_rate_wps", "speaking_rate_sps",
    "articulation_rate_sps", "pause_count", "pause_total_s", "longest_pause_s", "pause_ratio",
    "jitter_local", "shimmer_local", "hnr_db", "spectral_centroid_hz", "hesitation_flags",
}  # fmt: skip


def test_prosody_measures_synthesised_speech_with_stable_keys(labelled):
    utt = labelled["d1_support"]["utterances"][0]["utt"]
    p = analyze_prosody(utt)
    assert set(p) == PROSODY_KEYS
    assert 60 < p["f0_median_hz"] < 400
    assert 0 < p["voiced_fraction"] <= 1
    assert p["speaking_rate_sps"] > 1


def test_slow_speech_with_word_gaps_shows_pauses(labelled):
    slow = analyze_prosody(labelled["p1_arousal_pair"]["utterances"][1]["utt"])
    assert slow["pause_count"] >= 1
    assert "frequent_pauses" in slow["hesitation_flags"] or slow["pause_ratio"] > 0.1


@pytest.mark.parametrize(
    "audio",
    [
        np.zeros(16000, dtype=np.float32),  # silence
        np.array([], dtype=np.float32),  # empty
        np.full(16000, np.nan, dtype=np.float32),  # garbage samples
        np.ones(100, dtype=np.float32),  # far too short
    ],
    ids=["silence", "empty", "nan", "too_short"],
)
def test_failing_prosody_leaves_prosody_empty_but_the_rest_present(make_utt, audio):
    utt = make_utt("Why is my bill so high this month? This is ridiculous.", audio=audio)
    with pytest.raises(ProsodyUnavailable):
        analyze_prosody(utt)
    a = analyze_utterance(utt)
    entry = a.timeline_entry()
    assert entry["prosody"] == {}
    assert entry["prosody_desc"] == ""
    assert a.agent_results["prosody"]["status"] == "failed"
    assert a.emotion["emotions"] and a.sentiment and a.cognitive and a.lexical_markers
    assert a.lexical_markers["is_question"]
    assert a.acoustic_reasoning.startswith("No usable audio")


def test_absent_audio_is_skipped_not_failed(make_utt):
    a = analyze_utterance(make_utt("Sounds good to me."))
    assert a.prosody == {}
    assert a.agent_results["prosody"]["status"] == "skipped"
    assert all(r["status"] == "ok" for k, r in a.agent_results.items() if k != "prosody")


def test_int16_scaled_audio_is_accepted(labelled):
    utt = labelled["d1_support"]["utterances"][0]["utt"]
    scaled = dataclasses.replace(utt, audio=utt.audio * 32767)
    ref = analyze_prosody(utt)
    got = analyze_prosody(scaled)
    assert got["f0_median_hz"] == pytest.approx(ref["f0_median_hz"], rel=0.02)
    assert got["rms_dbfs"] == pytest.approx(ref["rms_dbfs"], abs=0.5)
