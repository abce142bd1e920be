"""Emotion agent: fuse word evidence and voice evidence into a 7-way distribution and PAD.

Method (details and limits in docs/analytics.md):
1. Word evidence per label from the NRC lexicon (each word's vote split across its labels, so
   ambiguous words weigh less; negated words skipped) plus our conversational cue list.
2. VADER's negative/positive mass is added: positive → joy; negative spread over the negative
   labels in proportion to the evidence already there (anger/sadness by default).
3. Voice evidence (if prosody is present) re-weights within the valence side: high activation
   moves negative mass from sadness to anger/fear and positive mass toward surprise; low
   activation does the reverse. Voice alone never invents valence — that is a known limit.
4. Neutral holds a floor that shrinks with evidence, then everything is normalised to sum to 1.
5. PAD: valence blends VADER and the distribution's label valences; arousal blends acoustic
   activation (60 %) with the label arousals (40 %); dominance likewise with vocal effort.
"""

from __future__ import annotations

from typing import Any

from . import lexicon
from .prosody import acoustic_activation
from .types import EMOTIONS, AnalysisContext, Utterance, clamp01, r3, tokenize

_NEG = ("anger", "disgust", "fear", "sadness")
# Label anchors in PAD space (Russell & Mehrabian-style, rescaled to [0, 1]).
_VALENCE = {"anger": 0.15, "disgust": 0.2, "fear": 0.25, "joy": 0.85, "neutral": 0.5,
            "sadness": 0.2, "surprise": 0.6}  # fmt: skip
_AROUSAL = {"anger": 0.85, "disgust": 0.55, "fear": 0.75, "joy": 0.65, "neutral": 0.4,
            "sadness": 0.25, "surprise": 0.8}  # fmt: skip
_DOMINANCE = {"anger": 0.75, "disgust": 0.6, "fear": 0.2, "joy": 0.6, "neutral": 0.5,
              "sadness": 0.25, "surprise": 0.4}  # fmt: skip
_NRC_MAP = {"anger": "anger", "disgust": "disgust", "fear": "fear", "joy": "joy",
            "sadness": "sadness", "surprise": "surprise"}  # fmt: skip


def word_evidence(text: str) -> tuple[dict[str, float], list[str]]:
    """Per-label evidence from NRC + cue phrases; returns (scores, matched words)."""
    scores = dict.fromkeys(EMOTIONS, 0.0)
    matched: list[str] = []
    toks = tokenize(text)
    lex = lexicon.nrc()
    for i, tok in enumerate(toks):
        window = toks[max(0, i - 2) : i]
        if any(w in lexicon.NEGATIONS for w in window):
            continue  # "not happy" must not count as joy; VADER carries the negated valence
        labels = [_NRC_MAP[e] for e in lex.get(tok, ()) if e in _NRC_MAP]
        if labels:
            matched.append(tok)
            for lab in labels:
                scores[lab] += 1.0 / len(labels)
    low = (text or "").lower()
    for cue in lexicon.find("emotion_cues", low):
        idx = low.find(cue)
        before = tokenize(low[:idx])[-2:] if idx >= 0 else []
        if any(w in lexicon.NEGATIONS for w in before):
            continue
        matched.append(cue)
        for lab, w in lexicon.EMOTION_CUES[cue].items():
            scores[lab] += w
    return scores, matched


def analyze_emotion(
    utt: Utterance,
    sentiment: dict[str, Any],
    markers: dict[str, Any],
    prosody: dict[str, Any],
    context: AnalysisContext | None = None,
) -> dict[str, Any]:
    scores, matched = word_evidence(utt.text)
    neg = float(sentiment.get("negative", 0.0))
    pos = float(sentiment.get("positive", 0.0))
    compound = float(sentiment.get("compound", 0.0))

    # 2. sentiment mass, scaled so that a clearly negative sentence (neg≈0.4) adds ~1.6.
    neg_ev = sum(scores[e] for e in _NEG)
    if neg > 0:
        shares = (
            {e: scores[e] / neg_ev for e in _NEG}
            if neg_ev > 0
            else {"anger": 0.45, "sadness": 0.35, "fear": 0.1, "disgust": 0.1}
        )
        for e, share in shares.items():
            scores[e] += 4.0 * neg * share
    scores["joy"] += 4.0 * pos
    if markers.get("exclamation_count", 0) and markers.get("is_question"):
        scores["surprise"] += 0.8  # "You did what?!"

    # 3. voice evidence
    baseline = None
    if context is not None:
        baseline = context.speaker_baselines.get(utt.speaker)
    ac_arousal = ac_dom = None
    cues: list[str] = []
    if prosody:
        ac_arousal, ac_dom, cues = acoustic_activation(prosody, baseline)
        k = (ac_arousal - 0.5) * 2.0  # -1 … 1
        if k > 0:
            moved = scores["sadness"] * 0.6 * k
            scores["sadness"] -= moved
            scores["anger"] += moved * 0.7
            scores["fear"] += moved * 0.3
            scores["surprise"] += scores["joy"] * 0.25 * k
        else:
            moved = scores["anger"] * 0.5 * -k
            scores["anger"] -= moved
            scores["sadness"] += moved
            moved = scores["joy"] * 0.2 * -k
            scores["joy"] -= moved
        # Strong activation with no words of feeling is still some evidence against "neutral".
        if abs(k) > 0.5 and sum(scores[e] for e in EMOTIONS if e != "neutral") < 0.5:
            scores["surprise" if k > 0 else "sadness"] += 0.4 * abs(k)

    evidence = sum(scores[e] for e in EMOTIONS if e != "neutral")
    scores["neutral"] = max(0.3, 1.4 - 0.25 * evidence)
    total = sum(scores.values())
    dist = {e: scores[e] / total for e in EMOTIONS}
    dist = _round_to_one(dist)
    dominant = max(dist, key=lambda e: dist[e])

    val_lab = sum(dist[e] * _VALENCE[e] for e in EMOTIONS)
    aro_lab = sum(dist[e] * _AROUSAL[e] for e in EMOTIONS)
    dom_lab = sum(dist[e] * _DOMINANCE[e] for e in EMOTIONS)
    # VADER leads when it is confident; when it is near zero but the emotion words are clear
    # ("I am fed up", missing from VADER) the label valence takes over.
    w_vader = 0.3 + 0.5 * min(1.0, abs(compound) / 0.5)
    valence = w_vader * (0.5 + 0.5 * compound) + (1 - w_vader) * val_lab
    aro_text = aro_lab + 0.04 * min(3, markers.get("exclamation_count", 0))
    dom_text = (
        dom_lab + 0.04 * markers.get("booster_count", 0) - 0.05 * markers.get("hedge_count", 0)
    )
    arousal = aro_text if ac_arousal is None else 0.6 * ac_arousal + 0.4 * aro_text
    dominance = dom_text if ac_dom is None else 0.5 * ac_dom + 0.5 * dom_text

    conf = 0.4 + 0.08 * min(evidence, 4.0) + (0.12 if prosody else 0.0)
    conf *= 0.6 + 0.4 * clamp01(utt.asr_confidence)
    return {
        "emotions": dist,
        "dominant_emotion": dominant,
        "scores": {
            "valence": r3(clamp01(valence)),
            "arousal": r3(clamp01(arousal)),
            "dominance": r3(clamp01(dominance)),
        },
        "confidence": r3(min(0.95, conf)),
        "sources": {
            "lexical_matches": list(dict.fromkeys(matched))[:12],
            "acoustic_arousal": None if ac_arousal is None else r3(ac_arousal),
            "acoustic_dominance": None if ac_dom is None else r3(ac_dom),
            "acoustic_cues": cues,
            "used_prosody": bool(prosody),
        },
    }


def _round_to_one(dist: dict[str, float]) -> dict[str, float]:
    """Round to 4 places and push the rounding residue into the largest label so the wire
    values sum to exactly 1 (clients check it)."""
    out = {e: round(v, 4) for e, v in dist.items()}
    top = max(out, key=lambda e: out[e])
    out[top] = round(out[top] + (1.0 - sum(out.values())), 4)
    return out
