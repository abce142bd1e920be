"""Word agents: lexical markers (from transcript and word timings) and sentiment.

Both are pure functions of the utterance text/words and cost well under a millisecond each
after the lexicons are loaded.
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any

from . import lexicon
from .prosody import word_timing_pauses
from .types import Utterance, Word, clamp01, r3, tokenize

_SENTENCE_RE = re.compile(r"[^.!?]+[.!?]*")
_FRAGMENT_RE = re.compile(r"\b(\w{1,4})-\s+(\w+)")  # "th- the", "we- we'll": cut-offs


def _is_question_sentence(sentence: str) -> bool:
    s = sentence.strip()
    if not s:
        return False
    if s.endswith("?"):
        return True
    # ASR output often lacks punctuation: an interrogative/auxiliary opener with no final period
    # still reads as a question ("can you send it over").
    toks = tokenize(s)
    return bool(toks) and toks[0] in lexicon.QUESTION_OPENERS and not s.endswith((".", "!"))


def lexical_markers(utt: Utterance) -> dict[str, Any]:
    """Hedges, fillers, questions, disfluency rate and self-repairs (keys in docs/analytics.md)."""
    text = utt.text or ""
    toks = tokenize(text)
    n = len(toks)
    hedges = lexicon.find("hedges", text)
    fillers = lexicon.find("fillers", text)
    repairs = lexicon.find("self_repair", text)
    fragments = _FRAGMENT_RE.findall(text)
    # Immediate repetitions ("the the", "I I") are the commonest disfluency in ASR output.
    repetitions = sum(1 for a, b in pairwise(toks) if a == b and len(a) < 8)
    sentences = [s for s in _SENTENCE_RE.findall(text) if s.strip()]
    questions = [s.strip() for s in sentences if _is_question_sentence(s)]
    boosters = lexicon.find("boosters", text)
    negations = lexicon.find("negations", text)
    gaps = word_timing_pauses(utt.words)
    low_conf = sum(1 for w in utt.words if w.confidence < 0.5)
    self_repair_count = len(repairs) + len(fragments)
    disfluencies = len(fillers) + repetitions + self_repair_count
    return {
        "word_count": n,
        "hedges": hedges,
        "hedge_count": len(hedges),
        "fillers": fillers,
        "filler_count": len(fillers),
        "boosters": boosters,
        "booster_count": len(boosters),
        "negation_count": len(negations),
        "questions": questions,
        "question_count": len(questions),
        "is_question": bool(questions),
        "exclamation_count": text.count("!"),
        "repetitions": repetitions,
        "self_repairs": self_repair_count,
        "self_repair": self_repair_count > 0,
        "disfluency_rate": r3(disfluencies / n) if n else 0.0,
        "hesitation_pauses": len(gaps),
        "longest_word_gap_s": r3(max(gaps, default=0.0)),
        "low_confidence_word_ratio": r3(low_conf / len(utt.words)) if utt.words else 0.0,
    }


def sentiment(utt: Utterance) -> dict[str, Any]:
    """VADER for polarity (robust to negation, intensifiers, '!' and caps in speech-like text)
    plus TextBlob's pattern lexicon for subjectivity, which VADER does not provide."""
    text = utt.text or ""
    vs = lexicon.vader().polarity_scores(text)
    pa = lexicon.pattern_analyzer().analyze(text)
    compound = float(vs["compound"])
    label = "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"
    return {
        "label": label,
        "compound": r3(compound),
        "positive": r3(vs["pos"]),
        "negative": r3(vs["neg"]),
        "neutral": r3(vs["neu"]),
        "polarity": r3(compound),
        "subjectivity": r3(clamp01(pa.subjectivity)),
        "pattern_polarity": r3(pa.polarity),
        "method": "vader+pattern",
    }


def estimate_word_timings(text: str, t_start: float, t_end: float) -> list[Word]:
    """Spread the words over [t_start, t_end] in proportion to their length: a stand-in for
    transcripts without word timings (scripted evaluation text, some ASR back-ends). Pause
    markers derived from such timings are meaningless, which is why they come out zero here."""
    words = re.findall(r"\S+", text or "")
    if not words:
        return []
    weights = [len(w.strip(".,!?;:")) + 1 for w in words]
    span = max(0.0, t_end - t_start)
    total = sum(weights)
    out, t = [], t_start
    for w, k in zip(words, weights, strict=True):
        d = span * k / total
        out.append(Word(w.strip(".,!?;:\"'"), round(t, 3), round(t + d, 3), 1.0))
        t += d
    return out
