"""The voice surface's responders: the offline one, and the OpenAI-compatible client against a
local stand-in server speaking the chat-completions streaming protocol (the LLM is a
third-party service, the one place a test double is right). No Django."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from collections.abc import AsyncIterator

import pytest

from sessions_app.dialogue.responders import (
    VOICE_GUIDE,
    AssistantTurn,
    Emotion,
    EmotionScore,
    LLMSettings,
    OfflineResponder,
    OpenAICompatibleResponder,
    ResponderError,
    UserTurn,
    chat_messages,
    make_responder,
    offline_reply,
)
from tests.support.llm import Exchange, StandIn, serving, streams


def feeling(label: str, score: float = 0.7) -> Emotion:
    """`label` at `score`, the rest on a second label, as the emotion agent reports them."""
    rest = "joy" if label == "neutral" else "neutral"
    return Emotion(label, (EmotionScore(label, score), EmotionScore(rest, 1 - score)))


async def collect(deltas: AsyncIterator[str]) -> list[str]:
    return [delta async for delta in deltas]


# --- the offline responder ---------------------------------------------------------------

REFUND = "I've been waiting for my refund for three weeks."


@pytest.mark.parametrize(
    ("label", "tone_words"),
    [
        ("anger", ("sorry", "frustrat")),
        ("disgust", ("sorry", "frustrat")),
        ("joy", ("wonderful", "love hearing", "great")),
        ("sadness", ("sorry to hear", "hard", "weighing on you")),
        ("fear", ("worr", "anxious")),
        ("neutral", ("got it", "okay", "understood", "thanks for telling me")),
    ],
)
def test_offline_reply_answers_the_emotion_of_the_turn(label, tone_words):
    reply = offline_reply([], UserTurn(REFUND, feeling(label))).lower()
    assert any(word in reply for word in tone_words), reply


def test_offline_reply_apologises_to_frustration_and_never_to_joy():
    turns = [UserTurn(f"{REFUND} Day {n}.", feeling("anger")) for n in range(5)]
    assert all("sorry" in offline_reply([], t).lower() for t in turns)
    happy = [UserTurn(f"I finally got my refund, day {n}.", feeling("joy")) for n in range(5)]
    assert not any("sorry" in offline_reply([], t).lower() for t in happy)


@pytest.mark.parametrize(
    ("said", "reflected"),
    [
        (REFUND, "you've been waiting for your refund for three weeks"),
        ("The app keeps crashing when I upload photos.", "the app keeps crashing when you upload"),
        ("Can you help me reset my password?", "your password"),
        ("My dog died last week and I can't stop thinking about him.", "your dog died last week"),
    ],
)
def test_offline_reply_reflects_the_persons_own_words(said, reflected):
    assert reflected in offline_reply([], UserTurn(said, feeling("neutral"))).lower()


@pytest.mark.parametrize(
    "said",
    [REFUND, "Can you help me reset my password?", "Hello!", "Thanks a lot.", "yes", "um", ""],
)
def test_offline_reply_is_short_and_ends_with_a_follow_up_question(said):
    reply = offline_reply([], UserTurn(said, feeling("sadness")))
    assert reply.strip() and reply.endswith("?")
    assert reply.count(".") + reply.count("?") + reply.count("!") <= 4


def test_offline_reply_asks_again_when_nothing_was_heard():
    for said in ("", "   ", "um", "uh, hmm"):
        assert "didn't catch that" in offline_reply([], UserTurn(said))


def test_offline_reply_is_deterministic_and_varies_with_the_turn():
    turn = UserTurn(REFUND, feeling("anger"))
    assert offline_reply([], turn) == offline_reply([], UserTurn(REFUND, feeling("anger")))
    history = [UserTurn("hello"), AssistantTurn("Hi there.")]
    replies = {offline_reply(history[:n], turn) for n in range(3)}
    replies |= {
        offline_reply([], UserTurn(f"{REFUND} It is day {n}.", turn.emotion)) for n in range(6)
    }
    # Not one canned sentence: the openers, reflections and follow-ups differ between turns.
    assert len({r.split(".")[0] for r in replies}) >= 2
    assert len({r.rsplit(".", 1)[-1] for r in replies}) >= 2


def test_offline_reply_says_once_in_full_that_it_is_a_built_in_responder():
    question = UserTurn("Can you tell me what the weather is like?")
    first = offline_reply([], question)
    assert "built-in offline responder" in first
    later = offline_reply([question, AssistantTurn(first)], UserTurn("What about tomorrow?"))
    assert "built-in" not in later and "can't look that up" in later


async def test_offline_responder_streams_the_reply_word_by_word():
    turn = UserTurn(REFUND, feeling("anger"))
    deltas = await collect(OfflineResponder().reply("Be kind.", [], turn))
    assert "".join(deltas) == offline_reply([], turn)
    assert len(deltas) >= 10 and all(len(d.split()) == 1 for d in deltas)


async def test_offline_reply_stops_between_words_when_its_task_is_cancelled():
    heard: list[str] = []

    async def listen() -> None:
        async for delta in OfflineResponder().reply("", [], UserTurn(REFUND)):
            heard.append(delta)
            if len(heard) == 2:
                await asyncio.Event().wait()  # a barge-in comes while this word is spoken

    task = asyncio.create_task(listen())
    while len(heard) < 2:
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(heard) == 2


def test_emotion_from_a_distribution_keeps_the_top_labels_best_first():
    emotion = Emotion.from_distribution(
        {"anger": 0.5, "neutral": 0.2, "sadness": 0.25, "joy": 0.05}, limit=2
    )
    assert emotion == Emotion("anger", (EmotionScore("anger", 0.5), EmotionScore("sadness", 0.25)))
    assert Emotion.from_distribution({}) == Emotion()


# --- messages and the factory ------------------------------------------------------------

HISTORY = [
    UserTurn("My order never arrived.", feeling("anger", 0.62)),
    AssistantTurn("I'm sorry to hear that. Could you give me", interrupted=True),
    UserTurn("It's order 4411.", feeling("neutral", 0.8)),
    AssistantTurn("Thanks, I see order 4411."),
]


def test_messages_carry_the_system_prompt_history_and_each_turns_emotion():
    turn = UserTurn("When will it come?", Emotion.from_distribution({"fear": 0.5, "sadness": 0.3}))
    messages = chat_messages("You are Acme's agent.", HISTORY, turn, max_history_turns=20)
    assert messages[0] == {"role": "system", "content": f"You are Acme's agent.\n\n{VOICE_GUIDE}"}
    assert [m["role"] for m in messages[1:]] == ["user", "assistant"] * 2 + ["user"]
    assert messages[1]["content"] == (
        "[the user sounds frustrated: anger 62%, neutral 38%] My order never arrived."
    )
    assert messages[2]["content"] == "I'm sorry to hear that. Could you give me [interrupted]"
    assert messages[4]["content"] == "Thanks, I see order 4411."
    assert (
        messages[5]["content"]
        == "[the user sounds worried: fear 50%, sadness 30%] When will it come?"
    )


def test_messages_keep_only_the_most_recent_history_turns():
    messages = chat_messages("", HISTORY, UserTurn("Hello?"), max_history_turns=2)
    assert [m["content"] for m in messages[1:3]] == [
        "[the user sounds neutral: neutral 80%, joy 20%] It's order 4411.",
        "Thanks, I see order 4411.",
    ]
    assert len(chat_messages("", HISTORY, UserTurn("Hello?"), max_history_turns=0)) == 2


def test_the_factory_chooses_the_offline_responder_by_default():
    assert isinstance(make_responder({}), OfflineResponder)
    assert isinstance(make_responder(None, defaults={"base_url": "http://x"}), OfflineResponder)
    assert isinstance(make_responder({"responder": "offline"}), OfflineResponder)


def test_the_factory_lays_the_configs_llm_settings_over_the_defaults():
    responder = make_responder(
        {"responder": "openai_compatible", "llm": {"model": "llama3.2", "temperature": 0.2}},
        defaults={"base_url": "http://127.0.0.1:11434/v1/", "api_key": "k", "temperature": "0.9"},
    )
    assert isinstance(responder, OpenAICompatibleResponder)
    assert responder.settings == LLMSettings(
        base_url="http://127.0.0.1:11434/v1", model="llama3.2", api_key="k", temperature=0.2
    )
    assert responder.url == "http://127.0.0.1:11434/v1/chat/completions"


@pytest.mark.parametrize(
    ("voice", "named"),
    [
        ({"responder": "gpt"}, "voice.responder"),
        ({"responder": "openai_compatible", "llm": {"base_url": "http://x"}}, "voice.llm.model"),
        ({"responder": "openai_compatible", "llm": {"model": "m"}}, "voice.llm.base_url"),
        ({"responder": "openai_compatible", "llm": "http://x"}, "voice.llm"),
        (
            {"responder": "openai_compatible", "llm": {"base_url": "x", "model": "m"}},
            "voice.llm.base_url",
        ),
        (
            {
                "responder": "openai_compatible",
                "llm": {"base_url": "http://x", "model": "m", "temperature": 3},
            },
            "voice.llm.temperature",
        ),
        (
            {
                "responder": "openai_compatible",
                "llm": {"base_url": "http://x", "model": "m", "top_k": 3},
            },
            "top_k",
        ),
    ],
)
def test_a_bad_voice_setting_raises_responder_error_naming_it(voice, named):
    with pytest.raises(ResponderError, match=re.escape(named)):
        make_responder(voice)


# --- the OpenAI-compatible responder against a stand-in server ----------------------------


@pytest.fixture
async def stand_in() -> AsyncIterator[StandIn]:
    async with serving() as server:
        yield server


def responder_for(stand_in: StandIn, **settings) -> OpenAICompatibleResponder:
    return OpenAICompatibleResponder(
        LLMSettings(base_url=stand_in.base_url, model="stand-in-7b", **settings)
    )


TURN = UserTurn("When will it come?", feeling("fear", 0.55))


async def test_the_llm_reply_streams_its_deltas_in_order(stand_in):
    stand_in.script = streams("It ", "should ", "arrive ", "tomorrow.")
    responder = responder_for(stand_in)
    try:
        assert await collect(responder.reply("", HISTORY, TURN)) == [
            "It ",
            "should ",
            "arrive ",
            "tomorrow.",
        ]
    finally:
        await responder.aclose()


async def test_the_llm_request_carries_prompt_history_emotion_model_temperature_and_key(stand_in):
    stand_in.script = streams("Soon.")
    responder = responder_for(stand_in, api_key="sk-test-123", temperature=0.3, max_tokens=120)
    try:
        await collect(responder.reply("You are Acme's agent.", HISTORY, TURN))
    finally:
        await responder.aclose()
    (request,) = stand_in.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test-123"
    assert request.body == {
        "model": "stand-in-7b",
        "messages": chat_messages("You are Acme's agent.", HISTORY, TURN, 20),
        "stream": True,
        "temperature": 0.3,
        "max_tokens": 120,
    }
    assert request.body["messages"][0]["content"].startswith("You are Acme's agent.")
    assert request.body["messages"][-1]["content"] == (
        "[the user sounds worried: fear 55%, neutral 45%] When will it come?"
    )


async def test_the_llm_request_sends_no_authorization_without_a_key(stand_in):
    stand_in.script = streams("Hi.")
    responder = responder_for(stand_in)
    try:
        await collect(responder.reply("", [], TURN))
    finally:
        await responder.aclose()
    assert "authorization" not in stand_in.requests[0].headers


async def test_the_turns_of_a_call_reuse_one_connection(stand_in):
    stand_in.script = streams("One.")
    responder = responder_for(stand_in)
    try:
        for _ in range(3):
            assert await collect(responder.reply("", [], TURN)) == ["One."]
    finally:
        await responder.aclose()
    assert (len(stand_in.requests), stand_in.connections) == (3, 1)


async def test_a_reply_ended_by_finish_reason_without_done_is_complete(stand_in):
    stand_in.script = streams("Fine.", done=False, finish_reason="stop")
    responder = responder_for(stand_in)
    try:
        assert await collect(responder.reply("", [], TURN)) == ["Fine."]
    finally:
        await responder.aclose()


async def holds_the_stream(exchange: Exchange) -> None:
    await exchange.start_stream()
    for word in ("Let ", "me ", "explain "):
        await exchange.send_delta(word)
    await exchange.until_client_leaves()


@pytest.mark.parametrize(
    "stop", ["cancel while it reads", "cancel while a delta is spoken", "aclose between deltas"]
)
async def test_a_stopped_reply_closes_the_http_connection(stand_in, stop):
    stand_in.script = holds_the_stream
    responder = responder_for(stand_in)
    reply = responder.reply("", [], TURN)
    heard: list[str] = []
    all_sent_heard = asyncio.Event()

    async def listen() -> None:
        # As the surface iterates a reply: under aclosing, so a task cancelled while it
        # speaks a delta (outside the generator) closes the reply too.
        async with contextlib.aclosing(reply) as deltas:
            async for delta in deltas:
                heard.append(delta)
                if len(heard) == 3:
                    all_sent_heard.set()
                    if stop != "cancel while it reads":
                        await asyncio.Event().wait()  # speaking the delta

    task = asyncio.create_task(listen())
    await asyncio.wait_for(all_sent_heard.wait(), 5)
    await asyncio.sleep(0.05)  # "while it reads": back in the generator, awaiting a 4th delta
    if stop == "aclose between deltas":
        await reply.aclose()
    else:
        task.cancel()
    await asyncio.wait_for(stand_in.disconnected.wait(), 2)  # the server sees the client leave
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert heard == ["Let ", "me ", "explain "]
    await responder.aclose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_a_refused_connection_raises_responder_error():
    responder = OpenAICompatibleResponder(
        LLMSettings(base_url=f"http://127.0.0.1:{free_port()}/v1", model="m")
    )
    with pytest.raises(
        ResponderError, match=re.escape("cannot connect to the LLM at http://127.0.0.1")
    ):
        await collect(responder.reply("", [], TURN))
    await responder.aclose()


async def test_a_server_error_raises_responder_error_with_the_servers_message(stand_in):
    async def script(exchange: Exchange) -> None:
        await exchange.answer(500, b'{"error": {"message": "model stand-in-7b ran out of memory"}}')

    stand_in.script = script
    responder = responder_for(stand_in)
    with pytest.raises(ResponderError, match="answered 500: model stand-in-7b ran out of memory"):
        await collect(responder.reply("", [], TURN))
    await responder.aclose()


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("data: {not json\n\n", "malformed stream line"),
        ('data: {"object": "chat.completion.chunk"}\n\n', "malformed stream line"),
        ('data: {"choices": [{"delta": {"content": 7}}]}\n\n', "malformed stream line"),
        ('data: {"error": {"message": "context length exceeded"}}\n\n', "context length exceeded"),
    ],
)
async def test_a_malformed_stream_raises_responder_error(stand_in, bad, message):
    async def script(exchange: Exchange) -> None:
        await exchange.start_stream()
        await exchange.send_delta("Sure, ")
        await exchange.send(bad)
        await exchange.end_stream()

    stand_in.script = script
    responder = responder_for(stand_in)
    heard: list[str] = []
    with pytest.raises(ResponderError, match=message):
        async for delta in responder.reply("", [], TURN):
            heard.append(delta)
    assert heard == ["Sure, "]
    await responder.aclose()


async def test_a_stream_cut_before_done_raises_responder_error(stand_in):
    stand_in.script = streams("Half a", done=False)
    responder = responder_for(stand_in)
    with pytest.raises(ResponderError, match=r"ended before the reply was complete"):
        await collect(responder.reply("", [], TURN))
    await responder.aclose()


async def test_an_empty_reply_raises_responder_error(stand_in):
    stand_in.script = streams()
    responder = responder_for(stand_in)
    with pytest.raises(ResponderError, match="empty reply"):
        await collect(responder.reply("", [], TURN))
    await responder.aclose()


async def silent_before_headers(exchange: Exchange) -> None:
    await exchange.until_client_leaves()


async def silent_after_headers(exchange: Exchange) -> None:
    await exchange.start_stream()
    await exchange.until_client_leaves()


@pytest.mark.parametrize("script", [silent_before_headers, silent_after_headers])
async def test_no_first_token_in_time_raises_responder_error(stand_in, script):
    stand_in.script = script
    responder = responder_for(stand_in, first_token_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(ResponderError, match=r"no reply from the LLM at .* within 0.3 s"):
        await collect(responder.reply("", [], TURN))
    assert time.monotonic() - started < 2
    await asyncio.wait_for(stand_in.disconnected.wait(), 2)
    await responder.aclose()


async def test_a_stream_that_stalls_after_the_first_token_raises_responder_error(stand_in):
    async def script(exchange: Exchange) -> None:
        await exchange.start_stream()
        await exchange.send_delta("Well, ")
        await exchange.until_client_leaves()

    stand_in.script = script
    responder = responder_for(stand_in, stream_timeout=0.3)
    heard: list[str] = []
    with pytest.raises(ResponderError, match=re.escape("stalled for more than 0.3 s")):
        async for delta in responder.reply("", [], TURN):
            heard.append(delta)
    assert heard == ["Well, "]
    await responder.aclose()
