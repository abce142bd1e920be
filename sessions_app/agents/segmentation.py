"""Segmentation agent: splits a conversation into phases without a language model.

Boundary evidence between consecutive utterances (all documented in docs/analytics.md):
- lexical cohesion dip (TextTiling-style cosine of content words, 3 utterances either side);
- explicit topic-shift cue or topic_shift moment at the utterance;
- emotional arc: change of mean valence across the boundary;
- a change in the kind of moments (problem → resolution/commitment, greetings → business);
- a long silence before the utterance.
The best-scoring boundaries are kept greedily (≥ 2 utterances per phase, about one phase per five
utterances, at most 6). Phases are then named from their moments and position.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from . import lexicon
from .types import (
    EmptyTimelineError,
    InvalidTimelineError,
    Moment,
    Utterance,
    UtteranceAnalysis,
    fmt_ts,
    r3,
    tokenize,
)

WINDOW = 3
MAX_PHASES = 6
MIN_SCORE = 0.35


def _bag(texts: list[str]) -> Counter[str]:
    c: Counter[str] = Counter()
    for t in texts:
        c.update(w for w in tokenize(t) if w not in lexicon.STOPWORDS and len(w) > 2)
    return c


def _cos(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    dot = sum(a[k] * b[k] for k in a.keys() & b.keys())
    return dot / math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))


def _phase_kind(cats: Counter[str], texts: list[str], first: bool, last: bool) -> str:
    joined = " ".join(texts)
    greet = len(lexicon.find("greeting", joined))
    close = len(lexicon.find("closing", joined))
    if cats["cta_commit"] or cats["commitment"]:
        return "commitment"
    if cats["resolution"]:
        return "resolution"
    if cats["escalation"]:
        return "escalation"
    if cats["complaint"]:
        return "problem"
    if cats["objection"]:
        return "objection"
    if last and close:
        return "closing"
    if first and (greet or not sum(cats.values())):
        return "opening"
    if cats["question"] >= max(1, len(texts) // 2):
        return "discovery"
    return "discussion"


_NAMES = {
    "opening": "Opening & Rapport",
    "discovery": "Discovery & Questions",
    "problem": "Problem Statement",
    "escalation": "Escalation",
    "objection": "Objection Handling",
    "resolution": "Resolution",
    "commitment": "Commitment & Next Steps",
    "closing": "Closing",
    "discussion": "Discussion",
}


def _tone(valence: float, arousal: float) -> str:
    if valence < 0.35:
        return "frustrated" if arousal >= 0.55 else "negative"
    if valence < 0.45:
        return "tense" if arousal >= 0.55 else "subdued"
    if valence > 0.65:
        return "enthusiastic" if arousal >= 0.6 else "optimistic"
    if valence > 0.55:
        return "warm"
    return "neutral"


def segment_analyses(
    analyses: list[UtteranceAnalysis], moments: list[Moment], context: str = ""
) -> dict[str, Any]:
    """ConversationSegmentation (reference §10.6) for analysed utterances."""
    n = len(analyses)
    if n == 0:
        raise EmptyTimelineError("timeline is empty")
    texts = [a.utterance.text for a in analyses]
    vals = [a.valence for a in analyses]
    by_utt: dict[str, list[Moment]] = {}
    for m in moments:
        for uid in m.utterance_ids:
            by_utt.setdefault(uid, []).append(m)
    cats = [Counter(m.category for m in by_utt.get(a.utterance_id, [])) for a in analyses]

    scores: dict[int, tuple[float, str]] = {}
    for i in range(1, n):
        left, right = slice(max(0, i - WINDOW), i), slice(i, min(n, i + WINDOW))
        dip = 1.0 - _cos(_bag(texts[left]), _bag(texts[right]))
        dv = abs(sum(vals[right]) / len(vals[right]) - sum(vals[left]) / len(vals[left]))
        kinds_l = set().union(*cats[left]) - {"question"}
        kinds_r = set().union(*cats[right]) - {"question"}
        shift = "topic_shift" in cats[i] or bool(lexicon.find("topic_shift", texts[i]))
        gap = analyses[i].utterance.t_start - analyses[i - 1].utterance.t_end
        kind_change = bool(kinds_r - kinds_l) and bool(cats[i].keys() - {"question"})
        s = 0.35 * dip + 0.8 * dv + 0.45 * shift + 0.3 * kind_change + 0.2 * (gap >= 2.0)
        reasons = []
        if shift:
            reasons.append("topic shift cue")
        if kind_change:
            reasons.append("new " + "/".join(sorted(cats[i].keys() - {"question"})))
        if dv >= 0.15:
            reasons.append(
                f"emotional shift (valence {'+' if vals[i] >= vals[i - 1] else '-'}{dv:.2f})"
            )
        if dip >= 0.9:
            reasons.append("vocabulary change")
        if gap >= 2.0:
            reasons.append(f"{gap:.1f}s silence")
        scores[i] = (s, ", ".join(reasons) or "lexical cohesion dip")

    target = 1 if n < 4 else min(MAX_PHASES, max(2, math.ceil(n / 3)))
    cuts: list[int] = []
    for i, (s, _) in sorted(scores.items(), key=lambda kv: -kv[1][0]):
        if len(cuts) >= target - 1 or s < MIN_SCORE:
            break
        # Phases of ≥ 2 utterances, except a one-utterance greeting may open the call.
        opening_ok = i == 1 and bool(lexicon.find("greeting", texts[0]))
        if all(abs(i - c) >= 2 for c in cuts) and (i >= 2 or opening_ok) and n - i >= 2:
            cuts.append(i)
    cuts.sort()
    bounds = [0, *cuts, n]

    phases: list[dict[str, Any]] = []
    used_names: Counter[str] = Counter()
    doc_freq = Counter(w for t in texts for w in set(_bag([t])))
    for k in range(len(bounds) - 1):
        lo, hi = bounds[k], bounds[k + 1]
        seg = analyses[lo:hi]
        seg_cats: Counter[str] = sum(cats[lo:hi], Counter())
        kind = _phase_kind(seg_cats, texts[lo:hi], k == 0, k == len(bounds) - 2)
        name = _NAMES[kind]
        used_names[name] += 1
        if used_names[name] > 1:
            name = f"{name} ({used_names[name]})"
        bag = _bag(texts[lo:hi])
        keywords = sorted(bag, key=lambda w: -bag[w] * math.log(1 + n / doc_freq[w]))[:3]
        seg_moments = [m for a in seg for m in by_utt.get(a.utterance_id, [])]
        mv = sum(a.valence for a in seg) / len(seg)
        ma = sum(a.arousal for a in seg) / len(seg)
        phases.append(
            {
                "phase_id": f"phase_{k + 1}",
                "phase_name": name,
                "start_timestamp": r3(seg[0].utterance.t_start),
                "end_timestamp": r3(max(a.utterance.t_end for a in seg)),
                "start_utterance_id": seg[0].utterance_id,
                "end_utterance_id": seg[-1].utterance_id,
                "utterance_count": len(seg),
                "theme": ", ".join(keywords) if keywords else kind,
                "summary": _phase_summary(seg, seg_moments, keywords),
                "emotional_tone": _tone(mv, ma),
                "key_moments": [
                    {
                        "moment_id": m.moment_id,
                        "category": m.category,
                        "timestamp": r3(m.start_ms / 1000),
                        "summary": m.summary,
                    }
                    for m in sorted(seg_moments, key=lambda m: -m.confidence)[:3]
                ],
                "transition_signal": None if k == 0 else scores[lo][1],
                "_kind": kind,
                "_valence": mv,
            }
        )
    arc = _narrative_arc(phases, vals)
    key_transitions = [
        {
            "timestamp": phases[k]["start_timestamp"],
            "from_phase": phases[k - 1]["phase_id"],
            "to_phase": phases[k]["phase_id"],
            "trigger": phases[k]["transition_signal"],
        }
        for k in range(1, len(phases))
    ]
    kinds = [p.pop("_kind") for p in phases]
    for p in phases:
        p.pop("_valence")
    rationale = (
        f"{len(phases)} phase(s) over {n} utterances, cut where lexical cohesion dipped and "
        "topic cues, moment types or the emotional arc changed; phases named from their "
        f"moments ({' → '.join(kinds)})."
    )
    if context:
        rationale += f" Focus requested: {context.strip()[:200]}."
    return {
        "phases": phases,
        "total_phases": len(phases),
        "segmentation_rationale": rationale,
        "narrative_arc": arc,
        "key_transitions": key_transitions,
    }


def _phase_summary(seg: list[UtteranceAnalysis], moments: list[Moment], keywords: list[str]) -> str:
    speakers = Counter(a.speaker for a in seg)
    who = ", ".join(s for s, _ in speakers.most_common())
    span = f"{fmt_ts(seg[0].utterance.t_start)}-{fmt_ts(max(a.utterance.t_end for a in seg))}"
    # Extractive: the utterance with the most keyword coverage, ties broken by moment confidence.
    best = max(
        seg,
        key=lambda a: (
            sum(w in tokenize(a.utterance.text) for w in keywords)
            + max((m.confidence for m in moments if a.utterance_id in m.utterance_ids), default=0)
        ),
    )
    quote = " ".join(best.utterance.text.split())
    if len(quote) > 120:
        quote = quote[:119].rsplit(" ", 1)[0] + "…"
    cats = Counter(m.category for m in moments)
    what = ", ".join(f"{n} {c.replace('_', ' ')}" for c, n in cats.most_common(3))
    return (
        f"{span} {who}: {len(seg)} utterances"
        + (f" ({what})" if what else "")
        + (f'. Key line, {best.speaker}: "{quote}"')
    )


def _narrative_arc(phases: list[dict[str, Any]], vals: list[float]) -> str:
    kinds = [p["_kind"] for p in phases]
    problem = next((i for i, k in enumerate(kinds) if k in ("problem", "escalation")), None)
    fix = next((i for i, k in enumerate(kinds) if k in ("resolution", "commitment")), None)
    if problem is not None and fix is not None and fix > problem:
        return "problem-solution"
    obj = next((i for i, k in enumerate(kinds) if k == "objection"), None)
    if obj is not None and fix is not None and fix > obj:
        return "objection-to-commitment"
    first, last = phases[0]["_valence"], phases[-1]["_valence"]
    if problem is not None and fix is None and last < 0.45:
        return "unresolved-problem"
    if last - first >= 0.12:
        return "rising"
    if first - last >= 0.12:
        return "declining"
    return "steady"


def analyses_from_timeline(timeline: list[dict[str, Any]]) -> list[UtteranceAnalysis]:
    """Turn TimelineEntry dicts back into analyses, re-running the cheap text agents only where
    the entry lacks their output (no audio here, so prosody stays empty)."""
    from .runner import LatencyStats, UtteranceAnalyzer

    analyzer = UtteranceAnalyzer(stats=LatencyStats())
    out: list[UtteranceAnalysis] = []
    for i, entry in enumerate(timeline):
        if not isinstance(entry, dict):
            raise InvalidTimelineError(f"timeline[{i}] is not an object")
        missing = [k for k in ("utterance_id", "t_start", "t_end", "text") if k not in entry]
        if missing:
            raise InvalidTimelineError(f"timeline[{i}] lacks {', '.join(missing)}")
        try:
            utt = Utterance.from_timeline_entry(entry)
        except (TypeError, ValueError) as exc:
            raise InvalidTimelineError(f"timeline[{i}]: {exc}") from exc
        a = analyzer.analyze(utt)
        emo = entry.get("emotion")
        if isinstance(emo, dict) and isinstance(emo.get("scores"), dict):
            a.emotion = {**a.emotion, **emo}
        for key in ("cognitive", "sentiment", "lexical_markers"):
            if isinstance(entry.get(key), dict) and entry[key]:
                setattr(a, key, {**getattr(a, key), **entry[key]})
        out.append(a)
    return out


def segment(timeline: list[dict[str, Any]] | None, context: str = "") -> dict[str, Any]:
    """Standalone segmentation for the segmentation endpoint: TimelineEntry dicts in (at least
    utterance_id, speaker, t_start, t_end, text), `{"segmentation": …}`-ready dict out.

    Raises EmptyTimelineError (→ 400) for a missing/empty timeline and InvalidTimelineError
    (→ 400) for malformed entries.
    """
    if timeline is None or (isinstance(timeline, list) and not timeline):
        raise EmptyTimelineError("timeline is missing or empty")
    if not isinstance(timeline, list):
        raise InvalidTimelineError("timeline must be a list of TimelineEntry objects")
    from .moments import MomentDetector

    analyses = analyses_from_timeline(sorted(timeline, key=lambda e: _start(e)))
    detector = MomentDetector("segment")
    for a in analyses:
        detector.detect(a)
    return segment_analyses(analyses, detector.moments, context)


def _start(entry: Any) -> float:
    try:
        return float(entry.get("t_start", 0.0)) if isinstance(entry, dict) else 0.0
    except (TypeError, ValueError):
        return 0.0
