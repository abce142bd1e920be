"""Moment agent: rule-based detection of key moments, one utterance at a time (live-safe).

Each rule combines a cue list (lexicon.py) with the utterance's analysed signals (sentiment,
emotion, prosody) and, where it matters, conversation history (a resolution needs an earlier
problem; an escalation needs rising negative affect). Rules are transparent on purpose: every
moment carries the phrases and signals that fired it in `evidence`.
"""

from __future__ import annotations

from typing import Any

from . import lexicon
from .types import Moment, UtteranceAnalysis, r3, tokenize

_PROBLEM = {"complaint", "objection", "escalation"}
_WEAK_COMMIT = {"yes", "sounds good", "we will", "i will", "i'll", "we'll", "let's", "deal"}
_WEAK_OBJECTION = {"but", "however", "although", "price", "cost", "budget"}


def _content(text: str) -> set[str]:
    return {t for t in tokenize(text) if t not in lexicon.STOPWORDS and len(t) > 2}


def _negated_commit(text: str) -> bool:
    """ "We won't sign" / "not ready to sign": negation before the action kills a commitment."""
    toks = tokenize(text)
    acts = {"sign", "buy", "proceed", "commit", "go", "agree", "order", "move", "book", "do"}
    for i, t in enumerate(toks):
        if t in acts and any(
            w in lexicon.NEGATIONS or w in ("won't", "wouldn't", "cannot")
            for w in toks[max(0, i - 4) : i]
        ):
            return True
    return False


def _excerpt(text: str, limit: int = 90) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


class MomentDetector:
    """Stateful over a conversation: call `detect(analysis)` once per utterance, in order."""

    def __init__(self, conversation_id: str = "analysis") -> None:
        self.conversation_id = conversation_id
        self.history: list[UtteranceAnalysis] = []
        self.moments: list[Moment] = []

    def _new(
        self,
        a: UtteranceAnalysis,
        category: str,
        summary: str,
        labels: list[str],
        confidence: float,
        evidence: dict[str, Any],
    ) -> Moment:
        u = a.utterance
        m = Moment(
            moment_id=f"{self.conversation_id}_m_{len(self.moments):04d}",
            category=category,
            speaker_id=u.speaker,
            start_ms=round(u.t_start * 1000),
            end_ms=round(u.t_end * 1000),
            utterance_ids=[u.utterance_id],
            summary=summary,
            labels=list(dict.fromkeys(labels))[:8],
            confidence=r3(min(0.95, confidence)),
            evidence={
                "text": _excerpt(u.text, 160),
                "phrases": list(dict.fromkeys(evidence.pop("phrases", [])))[:8],
                "sentiment": r3(a.polarity),
                "emotion": a.dominant_emotion,
                **evidence,
            },
        )
        self.moments.append(m)
        return m

    def detect(self, a: UtteranceAnalysis) -> list[Moment]:
        found: list[Moment] = []
        try:
            found = self._detect(a)
        finally:
            self.history.append(a)
        return found

    def _detect(self, a: UtteranceAnalysis) -> list[Moment]:
        u = a.utterance
        text = u.text or ""
        who = u.speaker
        quote = _excerpt(text)
        lex = a.lexical_markers
        compound = float(a.sentiment.get("compound", a.polarity))
        emo = a.emotion.get("emotions", {}) if a.emotion else {}
        neg_emotion = float(emo.get("anger", 0) + emo.get("disgust", 0))
        is_q = bool(lex.get("is_question")) if lex else text.strip().endswith("?")
        slope = (a.prosody or {}).get("f0_slope_st_per_s") or 0.0
        out: list[Moment] = []

        # question: punctuation/opener, or a clearly rising final contour on a short utterance
        if is_q or (slope > 6.0 and 0 < lex.get("word_count", 99) <= 10):
            conf = 0.85 if "?" in text else 0.65 if is_q else 0.55
            out.append(
                self._new(a, "question", f"{who} asks: “{quote}”", ["question"], conf,
                          {"phrases": lex.get("questions", [])[:2],
                           "cues": ["rising intonation"] if slope > 6.0 else []})
            )  # fmt: skip

        commits = lexicon.find("commit", text)
        strong = [c for c in commits if c not in _WEAK_COMMIT] + lexicon.future_commitments(text)
        actions = lexicon.find("cta", text)
        negated = _negated_commit(text)
        affirm = any(c in ("yes", "deal", "agreed", "i agree", "sounds good") for c in commits)
        if (
            not is_q
            and not negated
            and commits
            and actions
            and (strong or affirm or "let's" in commits)
        ):
            out.append(
                self._new(a, "cta_commit", f"{who} commits to act: “{quote}”",
                          ["cta", *actions[:3]], 0.65 + 0.1 * len(strong) + 0.1 * affirm,
                          {"phrases": commits + actions})
            )  # fmt: skip
        elif not is_q and not negated and (strong or (commits and a.commitment_score >= 0.6)):
            out.append(
                self._new(a, "commitment", f"{who} makes a commitment: “{quote}”",
                          ["commitment", a.commitment_level], 0.55 + 0.1 * len(strong),
                          {"phrases": commits, "commitment_score": a.commitment_score})
            )  # fmt: skip

        objections = lexicon.find("objection", text)
        strong_obj = [o for o in objections if o not in _WEAK_OBJECTION]
        hedged = bool(lex.get("hedge_count"))
        if (strong_obj or negated or (objections and (hedged or compound < -0.1))) and not (
            out and out[-1].category in ("cta_commit", "commitment")
        ):
            conf = 0.5 + 0.1 * len(strong_obj) + 0.1 * hedged + 0.1 * negated + 0.1 * (compound < 0)
            labels = [
                "objection",
                *(o for o in strong_obj if o in ("price", "expensive", "budget")),
            ]
            if hedged:
                labels.append("hesitant")
            out.append(
                self._new(a, "objection", f"{who} objects: “{quote}”", labels, conf,
                          {"phrases": objections + lex.get("hedges", [])})
            )  # fmt: skip

        complaints = lexicon.find("complaint", text)
        if complaints and (compound < -0.05 or neg_emotion > 0.3):
            conf = 0.55 + 0.1 * min(3, len(complaints)) + 0.15 * (compound < -0.4)
            out.append(
                self._new(a, "complaint", f"{who} complains: “{quote}”",
                          ["complaint", a.dominant_emotion], conf, {"phrases": complaints})
            )  # fmt: skip

        escal = lexicon.find("escalation", text)
        prev_same = next((h for h in reversed(self.history) if h.speaker == who), None)
        rising = (
            prev_same is not None
            and a.arousal - prev_same.arousal >= 0.12
            and a.valence < 0.4
            and prev_same.valence < 0.5
        )
        if (escal and compound < 0.3) or rising:
            drivers = escal + (["rising arousal"] if rising else [])
            out.append(
                self._new(a, "escalation", f"{who} escalates: “{quote}”", ["escalation"],
                          0.55 + 0.15 * bool(escal) + 0.1 * rising, {"phrases": drivers})
            )  # fmt: skip

        # A complaint repeated inside an escalation is one moment, not two.
        cats_now = [m.category for m in out]
        if (
            "escalation" in cats_now
            and "complaint" in cats_now
            and any(m.category == "complaint" and m.speaker_id == who for m in self.moments[:-2])
        ):
            dup = next(m for m in out if m.category == "complaint")
            out.remove(dup)
            self.moments.remove(dup)

        resol = lexicon.find("resolution", text)
        if resol and compound > 0.2 and self._open_problem(who):
            out.append(
                self._new(a, "resolution", f"{who} signals resolution: “{quote}”",
                          ["resolution", a.dominant_emotion], 0.6 + 0.1 * min(2, len(resol)),
                          {"phrases": resol})
            )  # fmt: skip

        shift = self._topic_shift(a)
        if shift is not None:
            out.append(
                self._new(a, "topic_shift", f"{who} changes topic: “{quote}”", ["topic_shift"],
                          shift[0], {"phrases": shift[1], "cohesion": shift[2]})
            )  # fmt: skip
        return out

    def _open_problem(self, speaker: str) -> bool:
        """Is there a complaint/objection/escalation still open for a resolution by `speaker`?

        It stays open until a commitment follows it, or until its own raiser signals
        resolution, so "I've fixed it" (agent) and "thanks, it works now" (customer) are both
        resolution moments, but a third "thanks" is not."""
        last = next((m for m in reversed(self.moments) if m.category in _PROBLEM), None)
        if last is None:
            return False
        after = self.moments[self.moments.index(last) + 1 :]
        for m in after:
            if m.category in ("cta_commit", "commitment"):
                return False
            if m.category == "resolution" and m.speaker_id in (last.speaker_id, speaker):
                return False
        return True

    def _topic_shift(self, a: UtteranceAnalysis) -> tuple[float, list[str], float] | None:
        markers = lexicon.find("topic_shift", a.utterance.text)
        mine = _content(a.utterance.text)
        window: set[str] = set()
        for h in self.history[-4:]:
            window |= _content(h.utterance.text)
        cohesion = len(mine & window) / len(mine) if mine and window else 1.0
        if markers and self.history:
            return 0.7 + 0.15 * (cohesion < 0.2), markers, r3(cohesion)
        # Without a cue, only a long utterance sharing no content word with a well-filled window
        # counts; an answer to the previous speaker's question is never a shift.
        prev = self.history[-1] if self.history else None
        answers = (
            prev is not None
            and prev.speaker != a.speaker
            and bool(prev.lexical_markers.get("is_question"))
        )
        long_enough = len(self.history) >= 4 and len(mine) >= 6 and len(window) >= 12
        if long_enough and cohesion == 0.0 and not answers:
            return 0.45, [], 0.0
        return None
