"""The offline responder: the default, with no network and no model."""

from __future__ import annotations

import asyncio
import re
import zlib
from collections.abc import AsyncIterator, Sequence

from sessions_app.dialogue.turns import AssistantTurn, Turn, UserTurn, tone_of

# --- the offline responder ---------------------------------------------------------------

_WORD_RE = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?")
_CLAUSE_SPLIT_RE = re.compile(
    r"[.,;:!?]+|\b(?:and|but|because|so|although|though|while|then)\b", re.IGNORECASE
)

# Emotion labels (the agents' seven, the NextEVI docs' and the SDK's) → the tone of the reply.

# tone → (openers saying how the person sounds, follow-up questions)
_TONE_LINES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "frustrated": (
        (
            "I'm sorry, I can hear this has been frustrating.",
            "I'm sorry about that; you sound really frustrated.",
            "That sounds frustrating, and I'm sorry you're dealing with it.",
        ),
        (
            "Let's take it one step at a time: what happened most recently?",
            "What would a good outcome look like for you?",
            "When did this start, so we can work through it calmly?",
        ),
    ),
    "sad": (
        (
            "I'm sorry to hear that; you sound down.",
            "That sounds hard, and I'm here to listen.",
            "I can hear this is weighing on you.",
        ),
        (
            "Would you like to tell me more about it?",
            "What would help most right now?",
            "How are you holding up?",
        ),
    ),
    "worried": (
        (
            "That sounds worrying, and it's okay to feel uneasy.",
            "I can hear you're anxious about this.",
            "It's understandable to be worried about that.",
        ),
        (
            "What worries you most about it?",
            "What would help you feel more settled?",
            "What's the first thing you'd like to sort out?",
        ),
    ),
    "happy": (
        (
            "That's wonderful, you sound really happy!",
            "I love hearing that!",
            "That sounds great, and you sound delighted.",
        ),
        (
            "What made it go so well?",
            "What are you looking forward to next?",
            "How are you going to celebrate?",
        ),
    ),
    "surprised": (
        ("Oh, that sounds unexpected!", "Wow, you sound surprised.", "That's quite a turn."),
        ("What happened next?", "How do you feel about it now?", "Did you see any of it coming?"),
    ),
    "confused": (
        (
            "That does sound confusing.",
            "I can hear this is a bit unclear.",
            "Let's untangle it together.",
        ),
        (
            "Which part is the most unclear?",
            "What did you expect to happen instead?",
            "Where did it stop making sense?",
        ),
    ),
    "neutral": (
        ("Got it.", "Okay.", "Understood.", "Thanks for telling me."),
        (
            "What would you like to do next?",
            "Can you tell me a bit more about it?",
            "What matters most to you here?",
        ),
    ),
}

_REFLECT_CLAUSE = ("So {}.", "It sounds like {}.", "You're saying {}.")
_REFLECT_TOPIC = ("You're asking about {}.", "Your question is about {}.", "So this is about {}.")
# Said the first time a question comes: the built-in responder cannot answer it, and says so.
_DISCLOSURE = (
    "I'm the built-in offline responder, not a language model, so I can't look that up, "
    "but I can help you think it through."
)
_SHORT_DISCLOSURE = "I can't look that up myself, but let's think it through."
_QUESTION_FOLLOW_UPS = (
    "What have you tried so far?",
    "What do you already know about it?",
    "What would you like to happen?",
)
_GREETINGS = ("Hi there, it's good to hear from you.", "Hello! Nice to hear your voice.")
_GREETING_FOLLOW_UPS = ("What would you like to talk about?", "How can I help today?")
_THANKS = ("You're welcome!", "Happy to help.", "Any time.")
_THANKS_FOLLOW_UPS = ("Is there anything else on your mind?", "What else can I do for you?")
_NOT_HEARD = "Sorry, I didn't catch that. Could you say it again?"
_LONGEST_CLAUSE = 12  # words; a longer clause is reflected by its topic instead

_FILLERS = {"um", "uh", "hmm", "mm", "er", "erm", "ah"}
_GREETING_WORDS = {"hi", "hello", "hey", "hiya", "morning", "afternoon", "evening", "good"}
_THANKS_WORDS = {"thanks", "thank", "cheers"}
_QUESTION_STARTS = {
    *("what", "why", "how", "when", "where", "who", "which", "whose", "can", "could", "would"),
    *("will", "do", "does", "did", "is", "are", "should", "may", "shall"),
}
_DETERMINERS = {
    *("the", "a", "an", "my", "your", "our", "his", "her", "their", "its", "this", "that"),
    *("these", "those", "some", "any"),
}
# Words that carry no topic: pronouns, auxiliaries, prepositions, conjunctions, fillers and
# light verbs. Whatever is left ("refund", "app keeps crashing") is what the person is about.
_FUNCTION_WORDS = {
    *_DETERMINERS,
    *_QUESTION_STARTS,
    *("i", "me", "you", "we", "us", "it", "he", "she", "they", "them", "him", "mine", "yours"),
    *("i'm", "i've", "i'll", "i'd", "you're", "you've", "you'll", "you'd", "it's", "that's"),
    *("we're", "they're", "there's", "what's", "don't", "doesn't", "didn't", "can't", "won't"),
    *("isn't", "aren't", "wasn't", "weren't", "myself", "yourself", "am", "was", "were", "be"),
    *("been", "being", "have", "has", "had", "get", "got", "getting", "go", "going", "gone"),
    *("want", "need", "like", "know", "think", "tell", "help", "let", "make", "please", "just"),
    *("really", "very", "so", "too", "also", "um", "uh", "oh", "well", "yeah", "yes", "no"),
    *("not", "okay", "ok", "right", "now", "then", "there", "here", "to", "of", "in", "on"),
    *("at", "for", "with", "about", "from", "by", "into", "over", "up", "out", "and", "or"),
    *("but", "if", "because", "as", "than", "again", "still", "all", "any", "much", "more"),
    *("something", "anything", "thing", "things", "way", "bit", "lot", "kind", "sort"),
    *("hi", "hello", "hey", "thanks", "thank", "nobody", "everyone", "someone"),
    *_FILLERS,
}

# First and second person swap when the person's words are said back to them.
_SWAP = {
    "i": "you",
    "me": "you",
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
    "i'm": "you're",
    "i've": "you've",
    "i'll": "you'll",
    "i'd": "you'd",
    "your": "my",
    "yours": "mine",
    "yourself": "myself",
    "you're": "I'm",
    "you've": "I've",
    "you'll": "I'll",
    "you'd": "I'd",
}
# "you" is "I" where it begins a clause ("you charged me"), "me" elsewhere ("I told you").
_SUBJECT_SLOTS = {"", "and", "but", "because", "so", "when", "if", "that", "since", "then"}
# The verb after a swapped subject agrees with it: "I was" → "you were", "you are" → "I am".
_VERB_AFTER_SWAP = {
    ("you", "am"): "are",
    ("you", "was"): "were",
    ("I", "are"): "am",
    ("I", "were"): "was",
}


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(text)


def _swap_persons(words: Sequence[str]) -> list[str]:
    out: list[str] = []
    for i, word in enumerate(words):
        low = word.lower()
        if low == "you":
            previous = words[i - 1].lower() if i else ""
            swapped = "I" if previous in _SUBJECT_SLOTS else "me"
        else:
            swapped = _SWAP.get(low, word)
        if out:
            swapped = _VERB_AFTER_SWAP.get((out[-1], low), swapped)
        out.append(swapped)
    if out and out[0].lower() in _FUNCTION_WORDS and out[0] != "I":
        out[0] = out[0].lower()  # the clause is said mid-sentence
    return out


def _content_count(words: Sequence[str]) -> int:
    return sum(w.lower() not in _FUNCTION_WORDS for w in words)


def _topic(words: Sequence[str]) -> str:
    """The noun-like phrase the person is about: the run of content words (with the
    determiner before it) scoring highest; a determiner earns half a point, and on a tie the
    later run wins, as English puts the object last ("reset my password" → "your password")."""
    best: tuple[float, list[str]] = (0.0, [])
    run: list[str] = []
    for word in [*words, "."]:
        low = word.lower()
        if low in _DETERMINERS or (low not in _FUNCTION_WORDS and word != "."):
            if low in _DETERMINERS and run:
                run = []  # a determiner starts a new phrase
            run.append(word)
            content = _content_count(run)
            score = content + (0.5 if run[0].lower() in _DETERMINERS else 0.0)
            if content and score >= best[0]:
                best = (score, list(run))
        else:
            run = []
    return " ".join(_swap_persons(best[1]))


def _reflection(text: str, words: Sequence[str], question: bool, pick: int) -> str:
    if not question:
        clauses = [_words(c) for c in _CLAUSE_SPLIT_RE.split(text) if c]
        clause = max(clauses, key=_content_count, default=[])
        if _content_count(clause) and len(clause) <= _LONGEST_CLAUSE:
            return _REFLECT_CLAUSE[pick % 3].format(" ".join(_swap_persons(clause)))
    topic = _topic(words)
    return _REFLECT_TOPIC[pick % 3].format(topic) if topic else ""


def _disclosed(history: Sequence[Turn]) -> bool:
    return any(isinstance(t, AssistantTurn) and _DISCLOSURE in t.text for t in history)


def offline_reply(history: Sequence[Turn], turn: UserTurn) -> str:
    """The built-in reply: how the person sounds, what they said, and a follow-up question.

    Deterministic: the variants are picked by a checksum of the words and the turn's position,
    so the same conversation always gets the same reply, and a new turn a different one."""
    words = _words(turn.text)
    seed = zlib.crc32(f"{len(history)}|{' '.join(words).lower()}".encode())
    pick = [seed >> shift for shift in (0, 8, 16)]  # one per choice, uncorrelated
    if all(w.lower() in _FILLERS for w in words):
        return _NOT_HEARD  # nothing said, or only "um"
    lowered = {w.lower() for w in words}
    if _content_count(words) == 0 and lowered & _GREETING_WORDS:
        return f"{_GREETINGS[pick[0] % 2]} {_GREETING_FOLLOW_UPS[pick[1] % 2]}"
    if len(words) <= 4 and lowered & _THANKS_WORDS:
        return f"{_THANKS[pick[0] % 3]} {_THANKS_FOLLOW_UPS[pick[1] % 2]}"
    question = turn.text.rstrip().endswith("?") or words[0].lower() in _QUESTION_STARTS
    tone = tone_of(turn.emotion)
    openers, follow_ups = _TONE_LINES[tone]
    parts = [] if question and tone == "neutral" else [openers[pick[0] % len(openers)]]
    parts.append(_reflection(turn.text, words, question, pick[1]))
    if question:
        parts.append(_SHORT_DISCLOSURE if _disclosed(history) else _DISCLOSURE)
        parts.append(_QUESTION_FOLLOW_UPS[pick[2] % 3])
    else:
        parts.append(follow_ups[pick[2] % len(follow_ups)])
    return " ".join(p for p in parts if p)


class OfflineResponder:
    """The default: no network, no model; see `offline_reply`."""

    name = "offline"

    async def reply(
        self, system_prompt: str, history: Sequence[Turn], turn: UserTurn
    ) -> AsyncIterator[str]:
        # Word by word, so speech can start on the first clause; each delta is a
        # cancellation point, so a barge-in stops the reply between two words.
        for delta in re.findall(r"\S+\s*", offline_reply(history, turn)):
            await asyncio.sleep(0)
            yield delta

    async def aclose(self) -> None:
        return None
