"""A voice call's conversation: answered, spoken at the listener's pace, interruptible.

Real parts: the offline responder, piper's voice on the engine's scheduler."""

import asyncio
import itertools
import socket
import time

import pytest

from sessions_app.dialogue.call import APOLOGY, Call
from sessions_app.dialogue.responders import (
    AssistantTurn,
    Emotion,
    EmotionScore,
    OfflineResponder,
    make_responder,
)
from sessions_app.dialogue.speech import OUTPUT_RATE, Synthesizer

FRUSTRATED = Emotion("anger", (EmotionScore("anger", 0.7), EmotionScore("neutral", 0.2)))


class Heard:
    """What the surface would put on the wire, with when."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, bool]] = []
        self.audio: list[tuple[float, bytes, bool]] = []
        self.interruptions: list[float] = []
        self.failures: list[str] = []

    async def reply_text(self, content, *, generation_id, index, final):
        self.texts.append((content, final))

    async def reply_audio(self, pcm, *, chunk_id, is_last):
        self.audio.append((time.monotonic(), pcm, is_last))

    async def interrupted(self):
        self.interruptions.append(time.monotonic())

    async def reply_failed(self, message):
        self.failures.append(message)


def _call(output: Heard, responder=None) -> Call:
    return Call(responder or OfflineResponder(), Synthesizer(), output)


async def _until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_turn_is_answered_in_text_and_speech_and_both_sides_are_remembered():
    heard = Heard()
    call = _call(heard)
    assert await call.final("My order never arrived and I am annoyed", FRUSTRATED, audio_time=3.0)
    await _until(lambda: heard.audio and heard.audio[-1][2])
    contents = [c for c, _ in heard.texts]
    assert all(b.startswith(a) for a, b in itertools.pairwise(contents))  # cumulative
    assert heard.texts[-1][1] and not any(final for _, final in heard.texts[:-1])
    assert [last for *_, last in heard.audio].count(True) == 1
    assert all(len(pcm) % 2 == 0 for _, pcm, _ in heard.audio)
    seconds = [len(pcm) / 2 / OUTPUT_RATE for _, pcm, _ in heard.audio]
    assert all(s <= 0.2 + 1e-9 for s in seconds) and sum(seconds) > 1.0
    assert [type(t).__name__ for t in call.history] == ["UserTurn", "AssistantTurn"]
    assert call.history[-1].text == heard.texts[-1][0]
    await call.close()


async def test_audio_is_sent_no_further_ahead_of_the_listener_than_the_lead():
    heard = Heard()
    call = _call(heard)
    await call.final("Can you tell me how the refund process works", Emotion(), audio_time=2.0)
    await _until(lambda: heard.audio and heard.audio[-1][2])
    start, sent = heard.audio[0][0], 0.0
    for at, pcm, _ in heard.audio:
        # When each chunk left, the listener had heard (at - start) of the `sent` before it.
        assert sent - (at - start) <= call.lead + 0.2 + 0.05
        sent += len(pcm) / 2 / OUTPUT_RATE
    assert heard.audio[-1][0] - start >= sent - call.lead - 0.25  # real time, not a burst
    await call.close()


async def test_talking_over_the_reply_stops_it_and_the_history_keeps_what_was_heard():
    heard = Heard()
    call = _call(heard)
    await call.final("I want to change the delivery address on my order", Emotion(), audio_time=2.0)
    await _until(lambda: len(heard.audio) >= 8)  # over a second of the reply has been heard
    call.speech_started(at=10.0)
    assert not await call.heard(audio_time=10.2, text="")  # too short to judge yet
    assert await call.heard(audio_time=10.3, text="no wait")
    sent_when_stopped = len(heard.audio)
    await asyncio.sleep(0.5)
    assert len(heard.audio) == sent_when_stopped, "audio went on after the interruption"
    assert len(heard.interruptions) == 1 and not call.speaking
    last = call.history[-1]
    assert isinstance(last, AssistantTurn) and last.interrupted
    full = heard.texts[-1][0]
    assert last.text and full.startswith(last.text.split()[0])
    await call.close()


async def test_a_backchannel_while_the_agent_talks_is_not_a_turn_and_does_not_stop_it():
    heard = Heard()
    call = _call(heard)
    await call.final("Tell me about your opening hours please", Emotion(), audio_time=2.0)
    await _until(lambda: len(heard.audio) >= 2)
    call.speech_started(at=10.0)
    assert not await call.heard(audio_time=10.6, text="uh-huh")
    assert not await call.final("Uh-huh.", Emotion(), audio_time=10.8)
    await _until(lambda: heard.audio and heard.audio[-1][2])
    assert heard.interruptions == []
    assert [type(t).__name__ for t in call.history] == ["UserTurn", "AssistantTurn"]
    await call.close()


async def test_a_failing_language_model_is_apologised_for_and_the_call_goes_on():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    responder = make_responder(
        {
            "responder": "openai_compatible",
            "llm": {"base_url": f"http://127.0.0.1:{port}/v1", "model": "m"},
        }
    )
    heard = Heard()
    call = _call(heard, responder)
    await call.final("Hello there", Emotion(), audio_time=1.0)
    await _until(lambda: heard.audio and heard.audio[-1][2])
    assert heard.failures and heard.texts[-1] == (APOLOGY, True)
    await call.close()


@pytest.fixture(autouse=True)
def _engine_model():
    # Synthesis runs on the engine's scheduler: make sure it exists in this process.
    from sessions_app.engine import get_scheduler

    get_scheduler()
