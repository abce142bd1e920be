"""Responders: the assistant's reply to a user turn, streamed as text deltas.

One interface, two implementations, chosen per config by `make_responder` from the config's
`voice` settings (keys in docs/dialogue.md, "Responders")::

    responder = make_responder(config.voice, defaults=VOICE_LLM)  # defaults: the environment's

    async def speak() -> None:
        async with contextlib.aclosing(responder.reply(system_prompt, history, turn)) as deltas:
            async for delta in deltas:
                ...                     # synthesise and send

    task = asyncio.create_task(speak())
    task.cancel()               # barge-in: the reply stops at once, an HTTP stream is closed
    await responder.aclose()    # at hang-up: releases the responder's connection

`reply()` is an async generator. Iterate it under `contextlib.aclosing`: a task cancelled
while it awaits the next delta stops the generator itself, and one cancelled while it
handles a delta (outside the generator) closes it on leaving the block, so nothing more is
read either way. Every failure of a model-backed responder raises `ResponderError`, so the
surface can speak its apology and go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import zlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx


class ResponderError(Exception):
    """A reply could not be produced (misconfiguration, unreachable or failing model)."""


# --- turns -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmotionScore:
    label: str
    score: float  # 0-1


@dataclass(frozen=True)
class Emotion:
    """How the user sounded in a turn: the dominant label and the top labels, best first."""

    dominant: str = "neutral"
    top: tuple[EmotionScore, ...] = ()

    @classmethod
    def from_distribution(cls, scores: Mapping[str, float], limit: int = 3) -> Emotion:
        """From a label → score mapping (the emotion agent's `emotions`)."""
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:limit]
        if not ranked:
            return cls()
        return cls(ranked[0][0], tuple(EmotionScore(label, float(s)) for label, s in ranked))


@dataclass(frozen=True)
class UserTurn:
    text: str
    emotion: Emotion = field(default_factory=Emotion)


@dataclass(frozen=True)
class AssistantTurn:
    """What the assistant said; when interrupted, only the part that was played."""

    text: str
    interrupted: bool = False


Turn = UserTurn | AssistantTurn


class Responder(Protocol):
    name: str

    def reply(
        self, system_prompt: str, history: Sequence[Turn], turn: UserTurn
    ) -> AsyncIterator[str]:
        """The reply to `turn`, as text deltas whose concatenation is the whole reply."""
        ...

    async def aclose(self) -> None:
        """Release what the responder holds (connections); it is not used afterwards."""
        ...


# --- the offline responder ---------------------------------------------------------------

_WORD_RE = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?")
_CLAUSE_SPLIT_RE = re.compile(
    r"[.,;:!?]+|\b(?:and|but|because|so|although|though|while|then)\b", re.IGNORECASE
)

# Emotion labels (the agents' seven, the NextEVI docs' and the SDK's) → the tone of the reply.
_TONE_OF = {
    **dict.fromkeys(
        ("anger", "angry", "disgust", "contempt", "frustration", "annoyance"), "frustrated"
    ),
    **dict.fromkeys(("sadness", "sad", "disappointment", "grief"), "sad"),
    **dict.fromkeys(("fear", "anxiety", "nervousness"), "worried"),
    **dict.fromkeys(("joy", "happy", "excitement", "amusement", "gratitude", "love"), "happy"),
    "surprise": "surprised",
    "confusion": "confused",
}

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


def _tone(emotion: Emotion) -> str:
    return _TONE_OF.get(emotion.dominant.strip().lower(), "neutral")


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
    tone = _tone(turn.emotion)
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


# --- the OpenAI-compatible responder -----------------------------------------------------

DEFAULT_SYSTEM_PROMPT = "You are a friendly, helpful voice assistant."
# Added to every system prompt: the reply is spoken, and the notes the messages carry are
# explained so the model uses them for its tone instead of repeating them.
VOICE_GUIDE = (
    "This is a spoken conversation: your replies are read aloud, so answer in one to three "
    "short sentences of plain speech, without lists or markdown. Each user message begins "
    "with a bracketed note, written by the system from the user's voice and words, saying how "
    "they sound, e.g. [the user sounds frustrated: anger 62%, sadness 21%]. Let it guide your "
    "tone; never read it out or write such notes yourself. An assistant message ending in "
    "[interrupted] was cut off by the user at that point."
)
_INTERRUPTED = "[interrupted]"


def emotion_note(emotion: Emotion) -> str:
    """The bracketed note that starts a user message: how the user sounds in that turn."""
    tone = _tone(emotion)
    sounds = emotion.dominant if tone == "neutral" else tone
    scores = ", ".join(f"{s.label} {round(s.score * 100)}%" for s in emotion.top)
    return f"[the user sounds {sounds}: {scores}]" if scores else f"[the user sounds {sounds}]"


def chat_messages(
    system_prompt: str, history: Sequence[Turn], turn: UserTurn, max_history_turns: int
) -> list[dict[str, str]]:
    """The chat-completions messages: system prompt + guide, the recent history, the turn.

    Emotion goes in a note at the start of each user message rather than in system
    messages: it stays attached to the turn it describes, so the model sees how the mood
    moved over the call, and the roles keep alternating after one leading system message,
    which some chat templates (llama.cpp, Ollama models) require."""
    system = f"{system_prompt.strip() or DEFAULT_SYSTEM_PROMPT}\n\n{VOICE_GUIDE}"
    messages = [{"role": "system", "content": system}]
    recent = history[-max_history_turns:] if max_history_turns else []
    for past in [*recent, turn]:
        if isinstance(past, UserTurn):
            content = f"{emotion_note(past.emotion)} {past.text.strip()}"
            messages.append({"role": "user", "content": content})
        else:
            text = past.text.strip()
            content = f"{text} {_INTERRUPTED}".strip() if past.interrupted else text
            messages.append({"role": "assistant", "content": content})
    return messages


@dataclass(frozen=True)
class LLMSettings:
    """Where and how to reach the model; keys of `voice.llm` and of `defaults`."""

    base_url: str
    model: str
    api_key: str | None = None
    temperature: float = 0.7
    max_tokens: int | None = 300
    connect_timeout: float = 3.0
    first_token_timeout: float = 8.0
    stream_timeout: float = 10.0
    max_history_turns: int = 20

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> LLMSettings:
        """Checked settings; a missing or bad value raises ResponderError naming the key."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise ResponderError(f"voice.llm: unknown setting {', '.join(unknown)}")
        kwargs: dict[str, Any] = {}
        for key in ("base_url", "model"):
            value = values.get(key)
            if not isinstance(value, str) or not value.strip():
                raise ResponderError(f"voice.llm.{key} is not set")
            kwargs[key] = value.strip()
        if not kwargs["base_url"].startswith(("http://", "https://")):
            raise ResponderError("voice.llm.base_url must start with http:// or https://")
        kwargs["base_url"] = kwargs["base_url"].rstrip("/")
        if values.get("api_key"):
            kwargs["api_key"] = str(values["api_key"])
        ranges = {
            "temperature": (0.0, 2.0),
            "connect_timeout": (0.01, 120.0),
            "first_token_timeout": (0.01, 600.0),
            "stream_timeout": (0.01, 600.0),
        }
        for key, (low, high) in ranges.items():
            if values.get(key) is not None:
                kwargs[key] = _number(key, values[key], low, high)
        for key, low in (("max_tokens", 1), ("max_history_turns", 0)):
            if values.get(key) is not None:
                kwargs[key] = int(_number(key, values[key], low, 1_000_000))
        return cls(**kwargs)


def _number(key: str, value: Any, low: float, high: float) -> float:
    try:
        number = float(value)  # the environment's values arrive as strings
    except (TypeError, ValueError):
        raise ResponderError(f"voice.llm.{key} must be a number, not {value!r}") from None
    if not low <= number <= high:
        raise ResponderError(f"voice.llm.{key} must be between {low:g} and {high:g}")
    return number


@dataclass(frozen=True)
class _Chunk:
    content: str
    finished: bool  # a finish_reason came: the reply is complete even without [DONE]


_DONE = _Chunk("", True)


def _parse_line(line: str) -> _Chunk | None:
    """One line of the event stream: a chunk, `_DONE`, or None for what carries no data
    (blank lines, `: comments`, `event:` / `id:` fields)."""
    if not line.startswith("data:"):
        return None
    payload = line[5:].strip()
    if payload == "[DONE]":
        return _DONE
    try:
        data = json.loads(payload)
    except ValueError:
        raise ResponderError(f"malformed stream line from the LLM server: {line[:200]!r}") from None
    if isinstance(data, dict) and "error" in data:
        raise ResponderError(f"the LLM server reported an error: {_error_detail(data)}")
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list):
        raise ResponderError(f"malformed stream line from the LLM server: {line[:200]!r}")
    if not choices:
        return None  # a usage-only chunk
    choice = choices[0]
    # The closing chunk of some servers has a finish_reason and no delta at all.
    delta = choice.get("delta", {}) if isinstance(choice, dict) else None
    content = delta.get("content") if isinstance(delta, dict) else None
    if not isinstance(delta, dict) or not isinstance(content, str | None):
        raise ResponderError(f"malformed stream line from the LLM server: {line[:200]!r}")
    return _Chunk(content or "", choice.get("finish_reason") is not None)


def _error_detail(body: Any) -> str:
    """The message of an OpenAI-style error body ({"error": {"message"}}, {"error": "…"},
    {"detail": "…"}), else the body itself."""
    if isinstance(body, dict):
        error = body.get("error", body.get("detail"))
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return json.dumps(body)[:500] if not isinstance(body, str) else body[:500]


_DRAIN_SECONDS = 0.5


async def _deltas(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    async for line in lines:
        chunk = _parse_line(line)
        if chunk is None:
            continue
        if chunk.content:
            yield chunk.content
        if chunk.finished:
            # Read the body to its end (a compliant server ends it right after [DONE]): an
            # unfinished response takes its connection with it, and the call's next turn
            # would connect again. A server that keeps the body open is left after a moment.
            with contextlib.suppress(TimeoutError, httpx.HTTPError):
                async with asyncio.timeout(_DRAIN_SECONDS):
                    async for _ in lines:
                        pass
            return
    raise ResponderError("the LLM stream ended before the reply was complete (no [DONE])")


class OpenAICompatibleResponder:
    """A streaming chat-completions client: `POST {base_url}/chat/completions` with
    `stream: true`, read as server-sent `data:` lines up to `[DONE]`. Ollama
    (`http://HOST:11434/v1`), vLLM, the llama.cpp server and OpenAI all speak it."""

    name = "openai_compatible"

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self.url = f"{settings.base_url}/chat/completions"
        # One client per responder (one per call): the turns of a call reuse its connection.
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            s = self.settings
            timeout = httpx.Timeout(s.stream_timeout, connect=s.connect_timeout)
            self._client = httpx.AsyncClient(timeout=timeout)
        return self._client

    def request_body(
        self, system_prompt: str, history: Sequence[Turn], turn: UserTurn
    ) -> dict[str, Any]:
        s = self.settings
        body: dict[str, Any] = {
            "model": s.model,
            "messages": chat_messages(system_prompt, history, turn, s.max_history_turns),
            "stream": True,
            "temperature": s.temperature,
        }
        if s.max_tokens is not None:
            body["max_tokens"] = s.max_tokens
        return body

    async def reply(
        self, system_prompt: str, history: Sequence[Turn], turn: UserTurn
    ) -> AsyncIterator[str]:
        headers = {"Accept": "text/event-stream"}
        if self.settings.api_key:
            headers["Authorization"] = f"Bearer {self.settings.api_key}"
        body = self.request_body(system_prompt, history, turn)
        try:
            # Leaving this block by any way (the end, an error, a cancelled task, aclose())
            # closes the response: an unfinished HTTP/1.1 response takes its connection with it.
            async with contextlib.AsyncExitStack() as stack:
                try:
                    async with asyncio.timeout(self.settings.first_token_timeout):
                        response = await stack.enter_async_context(
                            self._http().stream("POST", self.url, json=body, headers=headers)
                        )
                        if response.status_code != 200:
                            raise ResponderError(await _refusal(response))
                        deltas = await stack.enter_async_context(
                            contextlib.aclosing(_deltas(response.aiter_lines()))
                        )
                        first = await anext(deltas, None)
                except TimeoutError:
                    raise ResponderError(
                        f"no reply from the LLM at {self.url} within "
                        f"{self.settings.first_token_timeout:g} s"
                    ) from None
                if first is None:
                    raise ResponderError("the LLM returned an empty reply")
                yield first
                async for delta in deltas:
                    yield delta
        except httpx.HTTPError as exc:
            raise ResponderError(self._describe(exc)) from exc

    def _describe(self, exc: httpx.HTTPError) -> str:
        if isinstance(exc, httpx.ConnectTimeout):
            return (
                f"connecting to the LLM at {self.settings.base_url} timed out after "
                f"{self.settings.connect_timeout:g} s"
            )
        if isinstance(exc, httpx.ConnectError):
            return f"cannot connect to the LLM at {self.settings.base_url}: {exc}"
        if isinstance(exc, httpx.ReadTimeout):
            return f"the LLM stream stalled for more than {self.settings.stream_timeout:g} s"
        return f"the LLM request to {self.url} failed: {type(exc).__name__}: {exc}"

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


async def _refusal(response: httpx.Response) -> str:
    raw = (await response.aread())[:4000].decode("utf-8", "replace")
    try:
        detail = _error_detail(json.loads(raw))
    except ValueError:
        detail = raw.strip()[:500] or response.reason_phrase
    return f"the LLM server at {response.url} answered {response.status_code}: {detail}"


# --- the factory ---------------------------------------------------------------------------

RESPONDERS = ("offline", "openai_compatible")


def make_responder(
    voice: Mapping[str, Any] | None, defaults: Mapping[str, Any] | None = None
) -> Responder:
    """The responder a config's `voice` settings choose (`responder`: offline by default).

    For `openai_compatible`, `voice["llm"]` is laid over `defaults` (the operator's
    VOICE_LLM_* environment, same keys as `LLMSettings`), so a config may name only its
    model and inherit the server and key."""
    voice = voice or {}
    name = voice.get("responder") or "offline"
    if name == "offline":
        return OfflineResponder()
    if name == "openai_compatible":
        llm = voice.get("llm") or {}
        if not isinstance(llm, Mapping):
            raise ResponderError("voice.llm must be an object")
        merged = {k: v for k, v in {**(defaults or {}), **llm}.items() if v not in (None, "")}
        return OpenAICompatibleResponder(LLMSettings.from_mapping(merged))
    raise ResponderError(f"voice.responder must be one of {', '.join(RESPONDERS)}, not {name!r}")
