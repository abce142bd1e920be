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
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from sessions_app.dialogue.offline_responder import OfflineResponder, offline_reply
from sessions_app.dialogue.turns import (
    AssistantTurn,
    Emotion,
    EmotionScore,
    Responder,
    ResponderError,
    Turn,
    UserTurn,
    tone_of,
)

# The dialogue package's responder API, wherever each part is defined.
__all__ = [
    "AssistantTurn",
    "Emotion",
    "EmotionScore",
    "LLMSettings",
    "OfflineResponder",
    "OpenAICompatibleResponder",
    "Responder",
    "ResponderError",
    "Turn",
    "UserTurn",
    "make_responder",
    "offline_reply",
]

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
    tone = tone_of(emotion)
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
