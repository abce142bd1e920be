"""Insights agent: aggregate statistics over the analysed conversation (reference §10.3).

Also home of the speaker/turn-taking statistics the summariser reuses, so that the summary's
`speaker_dynamics` and the insights' `speaker_profiles` never disagree.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from itertools import pairwise
from typing import Any

from .types import EMOTIONS, Moment, Transition, UtteranceAnalysis, r3


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def _slope(ys: list[float]) -> float:
    """Least-squares slope per utterance index (robust enough for trend words)."""
    n = len(ys)
    if n < 2:
        return 0.0
    mx, my = (n - 1) / 2, _mean(ys)
    den = sum((i - mx) ** 2 for i in range(n))
    return sum((i - mx) * (y - my) for i, y in enumerate(ys)) / den


def _halves_delta(ys: list[float]) -> float:
    if len(ys) < 2:
        return 0.0
    h = len(ys) // 2
    return _mean(ys[h:]) - _mean(ys[:h])


def speaker_stats(analyses: list[UtteranceAnalysis], moments: list[Moment]) -> dict[str, Any]:
    """Per-speaker profile and turn-taking figures (keys documented in docs/analytics.md)."""
    per: dict[str, list[UtteranceAnalysis]] = defaultdict(list)
    for a in analyses:
        per[a.speaker].append(a)
    total_talk = sum(a.utterance.duration for a in analyses) or 1.0
    mom_by_spk: dict[str, Counter[str]] = defaultdict(Counter)
    for m in moments:
        mom_by_spk[m.speaker_id][m.category] += 1
    profiles: dict[str, dict[str, Any]] = {}
    for spk, items in per.items():
        emo_mass = Counter()
        for a in items:
            emo_mass.update(a.emotion.get("emotions", {}))
        non_neutral = {e: v for e, v in emo_mass.items() if e != "neutral" and v > 0}
        dominant = max(non_neutral, key=non_neutral.get) if non_neutral else "neutral"
        if non_neutral and emo_mass["neutral"] > 2.5 * non_neutral[dominant]:
            dominant = "neutral"
        talk = sum(a.utterance.duration for a in items)
        profiles[spk] = {
            "utterances": len(items),
            "talk_time_s": r3(talk),
            "talk_share": r3(talk / total_talk),
            "words": sum(len(a.utterance.text.split()) for a in items),
            "questions": sum(int(a.lexical_markers.get("question_count", 0)) for a in items),
            "hedges": sum(int(a.lexical_markers.get("hedge_count", 0)) for a in items),
            "mean_valence": r3(_mean([a.valence for a in items])),
            "mean_arousal": r3(_mean([a.arousal for a in items])),
            "mean_dominance": r3(
                _mean([float(a.emotion.get("scores", {}).get("dominance", 0.5)) for a in items])
            ),
            "dominant_emotion": dominant,
            "mean_engagement": r3(_mean([a.engagement for a in items])),
            "mean_cognitive_load": r3(
                _mean([float(a.cognitive.get("cognitive_load", 0.0)) for a in items])
            ),
            "mean_commitment": r3(_mean([a.commitment_score for a in items])),
            "mean_passion": r3(_mean([a.passion_score for a in items])),
            "moments": dict(mom_by_spk.get(spk, {})),
        }
    turns = 1 + sum(1 for a, b in pairwise(analyses) if a.speaker != b.speaker)
    gaps = [
        b.utterance.t_start - a.utterance.t_end
        for a, b in pairwise(analyses)
        if a.speaker != b.speaker
    ]
    overlaps = sum(1 for g in gaps if g < -0.2)
    shares = [p["talk_share"] for p in profiles.values()]
    top = max(profiles, key=lambda s: profiles[s]["talk_share"]) if profiles else None
    if len(profiles) <= 1:
        balance = "monologue"
    elif max(shares) >= 0.7:
        balance = f"dominated by {top}"
    else:
        balance = "balanced"
    return {
        "profiles": profiles,
        "turns": turns if analyses else 0,
        "mean_response_gap_s": r3(_mean([g for g in gaps if g >= -0.2])),
        "overlaps": overlaps,
        "talk_balance": balance,
        "dominant_speaker": top,
    }


def build_insights(
    analyses: list[UtteranceAnalysis],
    moments: list[Moment],
    transitions: list[Transition],
) -> dict[str, Any]:
    pol = [a.polarity for a in analyses]
    mean_pol = _mean(pol)
    std_pol = statistics.pstdev(pol) if len(pol) > 1 else 0.0
    delta = _halves_delta(pol)
    if delta >= 0.2:
        trend = "improving"
    elif delta <= -0.2:
        trend = "declining"
    elif mean_pol >= 0.05:
        trend = "positive"
    elif mean_pol <= -0.05:
        trend = "negative"
    else:
        trend = "neutral"

    mass: Counter[str] = Counter()
    for a in analyses:
        mass.update(a.emotion.get("emotions", {}))
    ranked = [e for e, v in mass.most_common() if v > 0 and e in EMOTIONS]
    dominant = [e for e in ranked if e != "neutral"][:3] or ranked[:1]

    eng = [a.engagement for a in analyses]
    ed = _halves_delta(eng)
    if len(eng) >= 4 and statistics.pstdev(eng) >= 0.15 and abs(ed) < 0.05:
        pattern = "fluctuating"
    elif ed >= 0.05:
        pattern = "increasing"
    elif ed <= -0.05:
        pattern = "decreasing"
    else:
        pattern = "stable"

    stats = speaker_stats(analyses, moments)
    duration_min = max(
        1e-6,
        (max(a.utterance.t_end for a in analyses) - analyses[0].utterance.t_start) / 60
        if analyses
        else 0,
    )
    vdiffs = [b.valence - a.valence for a, b in pairwise(analyses)]
    signals: Counter[str] = Counter()
    for a in analyses:
        signals.update(a.cognitive.get("signals", []))
    loads = [float(a.cognitive.get("cognitive_load", 0.0)) for a in analyses]
    peak = max(analyses, key=lambda a: float(a.cognitive.get("cognitive_load", 0.0)), default=None)
    key = sorted(moments, key=lambda m: -m.confidence)[:8]
    return {
        "overall_sentiment": {"mean": r3(mean_pol), "std": r3(std_pol), "trend": trend},
        "dominant_emotions": dominant,
        "engagement_pattern": pattern,
        "key_moments": [m.to_dict() for m in sorted(key, key=lambda m: m.start_ms)],
        "speaker_profiles": stats["profiles"],
        "conversation_dynamics": {
            "turns": stats["turns"],
            "mean_response_gap_s": stats["mean_response_gap_s"],
            "overlaps": stats["overlaps"],
            "talk_balance": stats["talk_balance"],
            "transitions": len(transitions),
            "moment_counts": dict(Counter(m.category for m in moments)),
            "moments_per_minute": r3(len(moments) / duration_min),
            "emotional_volatility": r3(statistics.pstdev(vdiffs) if len(vdiffs) > 1 else 0.0),
            "valence_start": r3(_mean([a.valence for a in analyses[:3]])),
            "valence_end": r3(_mean([a.valence for a in analyses[-3:]])),
        },
        "cognitive_profile": {
            "mean_engagement": r3(_mean(eng)),
            "mean_focus": r3(_mean([float(a.cognitive.get("focus", 0.0)) for a in analyses])),
            "mean_cognitive_load": r3(_mean(loads)),
            "load_trend": "rising"
            if _slope(loads) > 0.01
            else "falling"
            if _slope(loads) < -0.01
            else "flat",
            "peak_load_utterance_id": peak.utterance_id if peak else None,
            "top_signals": dict(signals.most_common(6)),
        },
    }
