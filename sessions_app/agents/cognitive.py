"""Cognitive agent (engagement, focus, load) and stance agent (commitment, passion, conviction).

Both combine lexical markers with prosody when it is there. Scores are hand-weighted indices in
[0, 1], not calibrated probabilities: their job is to rank utterances within a conversation and
to drive moments/transitions; docs/analytics.md states the weights' rationale and limits.
"""

from __future__ import annotations

from typing import Any

from . import lexicon
from .types import AnalysisContext, Utterance, clamp01, r3, tokenize


def _content(text: str) -> set[str]:
    return {t for t in tokenize(text) if t not in lexicon.STOPWORDS and len(t) > 2}


def _cohesion(utt: Utterance, context: AnalysisContext | None) -> float | None:
    """Content-word overlap with the last three utterances (any speaker): staying on topic."""
    if context is None or not context.previous:
        return None
    mine = _content(utt.text)
    if not mine:
        return None
    prior: set[str] = set()
    for prev in context.previous[-3:]:
        prior |= _content(prev.utterance.text)
    return len(mine & prior) / len(mine) if prior else 0.0


def _level(score: float) -> str:
    return "high" if score >= 0.67 else "medium" if score >= 0.4 else "low"


def analyze_cognitive(
    utt: Utterance,
    markers: dict[str, Any],
    sentiment: dict[str, Any],
    emotion: dict[str, Any],
    prosody: dict[str, Any],
    context: AnalysisContext | None = None,
) -> dict[str, Any]:
    n = max(1, markers.get("word_count", 0))
    arousal = float(emotion.get("scores", {}).get("arousal", 0.5)) if emotion else 0.5
    disfl = float(markers.get("disfluency_rate", 0.0))
    hedge_ratio = markers.get("hedge_count", 0) / n
    long_pause = max(
        float(prosody.get("longest_pause_s", 0.0) or 0.0),
        float(markers.get("longest_word_gap_s", 0.0) or 0.0),
    )
    cohesion = _cohesion(utt, context)
    signals: list[str] = []

    # Engagement: substantive turns, questions, feeling and energy all signal investment.
    engagement = (
        0.25
        + 0.25 * min(1.0, n / 20.0)
        + 0.15 * bool(markers.get("is_question"))
        + 0.2 * abs(float(sentiment.get("compound", 0.0)))
        + 0.25 * arousal
        - 0.1 * min(1.0, long_pause / 1.5)
    )
    # Focus: fluent, un-hedged speech that continues the thread of the conversation.
    focus = (
        0.45 * (1.0 - min(1.0, disfl * 4.0))
        + 0.25 * (1.0 - min(1.0, hedge_ratio * 6.0))
        + 0.3 * (0.5 if cohesion is None else min(1.0, 0.3 + cohesion))
    )
    # Load: pauses, fillers, self-repairs and slow articulation mark effortful planning.
    art = prosody.get("articulation_rate_sps")
    load = (
        0.15
        + 0.35 * min(1.0, disfl * 4.0)
        + 0.2 * min(1.0, long_pause / 1.0)
        + 0.1 * min(1.0, markers.get("self_repairs", 0) / 2.0)
        + 0.1 * min(1.0, hedge_ratio * 6.0)
        + (0.1 if art is not None and art < 3.0 else 0.0)
    )

    if markers.get("filler_count"):
        signals.append("fillers")
    if markers.get("self_repair"):
        signals.append("self_repair")
    if markers.get("hedge_count"):
        signals.append("hedging")
    if markers.get("is_question"):
        signals.append("question_asking")
    if long_pause >= 0.7:
        signals.append("long_pause")
    if arousal >= 0.65:
        signals.append("high_arousal")
    elif arousal <= 0.3:
        signals.append("low_arousal")
    if cohesion is not None and cohesion == 0.0 and n >= 10:
        signals.append("topic_departure")
    if disfl == 0 and not markers.get("hedge_count") and n >= 4:
        signals.append("fluent")

    engagement, focus, load = clamp01(engagement), clamp01(focus), clamp01(load)
    parts = [
        f"engagement {_level(engagement)} ({n} words"
        + (", asks a question" if markers.get("is_question") else "")
        + f", arousal {arousal:.2f})",
        f"focus {_level(focus)} (disfluency rate {disfl:.2f}"
        + ("" if cohesion is None else f", topic overlap {cohesion:.2f}")
        + ")",
        f"load {_level(load)}"
        + (f" (longest pause {long_pause:.2f}s)" if long_pause >= 0.3 else ""),
    ]
    return {
        "engagement": r3(engagement),
        "engagement_level": _level(engagement),
        "focus": r3(focus),
        "cognitive_load": r3(load),
        "cognitive_load_level": _level(load),
        "signals": signals,
        "rationale": "; ".join(parts) + ".",
    }


def analyze_stance(
    utt: Utterance,
    markers: dict[str, Any],
    sentiment: dict[str, Any],
    emotion: dict[str, Any],
    prosody: dict[str, Any],
) -> dict[str, Any]:
    """commitment/passion/conviction scores and levels, prosody_desc and acoustic_reasoning."""
    text = utt.text or ""
    commits = lexicon.find("commit", text)
    strong_commit = [c for c in commits if c not in ("yes", "sounds good", "we will", "i will")]
    scores = emotion.get("scores", {}) if emotion else {}
    arousal = float(scores.get("arousal", 0.5))
    dominance = float(scores.get("dominance", 0.5))
    hedges = markers.get("hedge_count", 0)

    commitment = (
        0.2
        + 0.25 * min(1.0, len(strong_commit) / 2.0)
        + 0.1 * bool(commits)
        + 0.1 * bool(strong_commit and lexicon.find("cta", text))
        + 0.1 * min(1.0, markers.get("booster_count", 0) / 2.0)
        - 0.15 * min(1.0, hedges / 2.0)
        - 0.1 * bool(markers.get("is_question"))
        + 0.2 * dominance
    )
    passion = (
        0.1
        + 0.4 * arousal
        + 0.2 * abs(float(sentiment.get("compound", 0.0)))
        + 0.15 * float(sentiment.get("subjectivity", 0.0))
        + 0.05 * min(3, markers.get("exclamation_count", 0))
    )
    if prosody:
        steady = 1.0 - min(1.0, float(prosody.get("pause_ratio", 0.0)) / 0.3)
        falling = 1.0 if (prosody.get("f0_slope_st_per_s") or 0.0) <= 0 else 0.0
        commitment += 0.1 * steady + 0.05 * falling
        passion += 0.1 * min(1.0, float(prosody.get("f0_std_st") or 0.0) / 4.0)
    commitment, passion = clamp01(commitment), clamp01(passion)
    conviction = clamp01(0.5 * commitment + 0.3 * dominance + 0.2 * (1.0 - min(1.0, hedges / 2)))

    desc: list[str] = []
    if prosody:
        if commitment >= 0.6:
            desc.append("COMMITTED")
        if passion >= 0.6:
            desc.append("PASSIONATE")
        cues = list(emotion.get("sources", {}).get("acoustic_cues", [])) if emotion else []
        if markers.get("exclamation_count") or (arousal >= 0.65 and dominance >= 0.6):
            cues.append("emphatic")
        if prosody.get("hesitation_flags"):
            cues.append("hesitant")
        desc.extend(dict.fromkeys(cues))  # de-duplicated, order kept
        if not desc:
            desc.append("even, conversational delivery")
    return {
        "commitment_score": r3(commitment),
        "commitment_level": _level(commitment),
        "passion_score": r3(passion),
        "passion_level": _level(passion),
        "conviction_score": r3(conviction),
        "prosody_desc": ", ".join(desc),
        "acoustic_reasoning": _reasoning(prosody, emotion, markers),
    }


def _reasoning(prosody: dict[str, Any], emotion: dict[str, Any], markers: dict[str, Any]) -> str:
    dominant = emotion.get("dominant_emotion", "neutral") if emotion else "neutral"
    if not prosody:
        return (
            "No usable audio for this utterance: emotion and cognitive state are inferred "
            f"from the words alone (reads as {dominant})."
        )
    src = emotion.get("sources", {}) if emotion else {}
    aro = src.get("acoustic_arousal")
    cues = src.get("acoustic_cues") or []
    bits = [
        f"Tempo {prosody.get('speaking_rate_sps')} syll/s, pitch {prosody.get('f0_median_hz')} Hz "
        f"(variability {prosody.get('f0_std_st')} st), loudness {prosody.get('rms_dbfs')} dBFS, "
        f"pause ratio {prosody.get('pause_ratio')}."
    ]
    if aro is not None:
        level = "high" if aro >= 0.6 else "low" if aro <= 0.4 else "moderate"
        bits.append(
            f"Voice activation is {level} ({aro:.2f})" + (f": {', '.join(cues)}." if cues else ".")
        )
    if markers.get("hesitation_pauses") or prosody.get("hesitation_flags"):
        bits.append("Pauses/hesitation point to effortful planning or reluctance.")
    bits.append(f"Combined with the wording this reads as {dominant}.")
    return " ".join(bits)
