"""The voice interface as NextEVI's clients use it, through a real daphne: a spoken
question is transcribed, its emotion read, answered in text and in speech that is real
speech; talking over the reply stops it; refusals close with the documented codes."""

import asyncio
import base64
import itertools
import json

import pytest

from sessions_app.dialogue.speech import Synthesizer
from sessions_app.engine import StreamingOptions, StreamingTranscriber
from tests.support.voice import RATE, refused, talk, voice_url

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def question() -> bytes:
    """A spoken question at 24 kHz, in piper's voice, with a short lead-in of silence."""
    pcm = b"".join(Synthesizer().synthesize("What time does the store open tomorrow morning?"))
    return b"\x00\x00" * int(RATE * 0.5) + pcm


def _config_id(customer) -> str:
    from accounts.models import Config

    return Config.objects.filter(project__customer=customer.customer).first().public_id


def _call_url(live, customer) -> str:
    return voice_url(live, api_key=customer.secret, config_id=_config_id(customer))


def _words(pcm: bytes) -> str:
    """Speech back to text with the engine: the words a listener would hear."""
    stream = StreamingTranscriber(StreamingOptions(sample_rate=RATE, partials=False))
    events = stream.feed_sync(pcm + b"\x00\x00" * RATE) + stream.finish_sync()
    return " ".join(e.text for e in events if e.is_final).lower()


def _reply_audio(call) -> bytes:
    return b"".join(base64.b64decode(m["content"]) for m in call.of("tts_chunk"))


def test_sdk_client_gets_transcripts_emotion_a_streamed_reply_and_real_speech(
    live, customer_with_credits, question
):
    url = _call_url(live, customer_with_credits)
    call = asyncio.run(
        talk(
            url,
            question,
            tail_seconds=40,  # the reply is spoken in real time
            until=lambda c: any(m.get("is_last") for m in c.of("tts_chunk")),
        )
    )
    assert call.types[0] == "connection_metadata"
    meta = call.messages[0]
    assert meta["status"] == "connected" and meta["data"]["connection_id"] == meta["connection_id"]
    finals = [m for m in call.of("transcription") if m["is_final"]]
    assert finals, call.types
    text = finals[0]["transcript"].lower()
    assert "store" in text and "open" in text
    assert finals[0]["words"] and {"word", "start", "end", "confidence"} <= set(
        finals[0]["words"][0]
    )
    emotion = call.of("emotion_update")
    assert emotion and emotion[0]["top_emotions"][0]["emotion"]
    assert call.types.index("emotion_update") > call.types.index("transcription")
    assert call.of("turn_complete")
    chunks = call.of("llm_response_chunk")
    assert chunks and chunks[-1]["is_final"] and chunks[-1]["content"], call.types
    assert all(b["content"].startswith(a["content"]) for a, b in itertools.pairwise(chunks))
    heard = _words(_reply_audio(call))
    reply_words = {w.strip(".,?!").lower() for w in chunks[-1]["content"].split()}
    assert len(reply_words & set(heard.split())) >= 3, (heard, chunks[-1]["content"])


def test_docs_client_with_envelope_and_base64_audio_is_answered_too(
    live, customer_with_credits, question
):
    url = _call_url(live, customer_with_credits)
    call = asyncio.run(
        talk(
            url,
            question,
            envelope=True,
            tail_seconds=40,
            until=lambda c: any(m.get("is_final") for m in c.of("llm_response_chunk")),
        )
    )
    assert [m for m in call.of("transcription") if m["is_final"]]
    assert call.of("llm_response_chunk")[-1]["data"]["content"]


def test_speaking_over_the_reply_interrupts_it_and_no_more_of_it_is_sent(
    live, customer_with_credits, question
):
    url = _call_url(live, customer_with_credits)
    interruption = b"".join(Synthesizer().synthesize("No wait, I meant the other store."))

    async def barge_in(ws, call):
        while not call.of("tts_chunk"):
            await asyncio.sleep(0.02)
        for offset in range(0, len(interruption), 4096):
            await ws.send(interruption[offset : offset + 4096])
            await asyncio.sleep(4096 / 2 / RATE)

    call = asyncio.run(talk(url, question, tail_seconds=8, during=barge_in))
    assert call.of("tts_interruption") and call.of("user_interruption")
    stopped = call.types.index("tts_interruption")
    first_generation = call.of("tts_chunk")[0]["chunk_id"].rsplit("-", 1)[0]
    after = [m for m in call.messages[stopped:] if m["type"] == "tts_chunk"]
    assert all(not m["chunk_id"].startswith(first_generation + "-") for m in after)


@pytest.mark.parametrize(
    ("query", "code", "close"),
    [
        ({"config_id": "cfg_x"}, "AUTH_REQUIRED", 4001),
        ({"config_id": "cfg_x", "api_key": "oak_" + "x" * 40}, "AUTH_FAILED", 4001),
    ],
)
def test_refusals_are_told_then_closed_with_their_code(live, query, code, close):
    call = asyncio.run(refused(voice_url(live, **query)))
    assert call.of("error")[0]["error_code"] == code
    assert call.close_code == close and call.close_reason


def test_a_call_without_config_id_or_with_another_tenants_config_is_refused(
    live, customer_with_credits, outsider
):
    missing = asyncio.run(refused(voice_url(live, api_key=customer_with_credits.secret)))
    assert missing.of("error")[0]["error_code"] == "CONFIG_NOT_FOUND" and missing.close_code == 4004
    theirs = asyncio.run(
        refused(
            voice_url(live, api_key=customer_with_credits.secret, config_id=_config_id(outsider))
        )
    )
    assert theirs.of("error")[0]["error_code"] == "CONFIG_NOT_FOUND" and theirs.close_code == 4004


def test_a_customer_without_credits_is_refused_with_access_denied(live, customer_without_credits):
    url = voice_url(
        live,
        api_key=customer_without_credits.secret,
        config_id=_config_id(customer_without_credits),
    )
    call = asyncio.run(refused(url))
    assert call.of("error")[0]["error_code"] == "ACCESS_DENIED" and call.close_code == 4003


def test_a_jwt_in_the_query_as_the_sdk_encodes_it_is_accepted(live, http, customer_with_credits):
    token = http.post(
        "/v1/auth/token", headers={"X-API-Key": customer_with_credits.secret}, json={}
    ).json()["access_token"]
    base = voice_url(live, config_id=_config_id(customer_with_credits))
    url = base + "&authorization=Bearer+" + token

    async def first_message():
        import websockets

        async with websockets.connect(url, open_timeout=20) as ws:
            return json.loads(await asyncio.wait_for(ws.recv(), 10))

    assert asyncio.run(first_message())["type"] == "connection_metadata"


def test_unknown_messages_get_an_error_and_the_call_goes_on(live, customer_with_credits):
    url = _call_url(live, customer_with_credits)

    async def exchange():
        import websockets

        async with websockets.connect(url, open_timeout=20) as ws:
            await ws.recv()  # connection_metadata
            await ws.send(json.dumps({"type": "dance"}))
            unknown = json.loads(await asyncio.wait_for(ws.recv(), 10))
            await ws.send("{not json")
            malformed = json.loads(await asyncio.wait_for(ws.recv(), 10))
            await ws.send(json.dumps({"type": "keep_alive"}))
            await ws.send(json.dumps({"type": "text_input", "text": "Hello, are you there?"}))
            reply = None
            while reply is None:
                message = json.loads(await asyncio.wait_for(ws.recv(), 20))
                if message["type"] == "llm_response_chunk" and message["is_final"]:
                    reply = message
            return unknown, malformed, reply

    unknown, malformed, reply = asyncio.run(exchange())
    assert unknown["error_code"] == "UNSUPPORTED_MESSAGE_TYPE"
    assert malformed["error_code"] == "INVALID_MESSAGE_FORMAT"
    assert reply["content"]


def test_an_idle_call_is_warned_twice_then_hung_up(live, customer_with_credits):
    url = _call_url(live, customer_with_credits)
    settings = {
        "sample_rate": RATE,
        "channels": 1,
        "encoding": "linear16",
        "idle_timeout": {"warning_timeout": 1, "hangup_timeout": 3, "enabled": True},
    }
    call = asyncio.run(talk(url, b"", settings=settings, tail_seconds=8))
    kinds = [(m["type"], m.get("warning_type") or m.get("message_type")) for m in call.messages]
    assert ("idle_warning", "warning") in kinds and ("idle_warning", "final_warning") in kinds
    assert ("system_message", "hangup") in kinds
    assert call.close_code == 1000 and call.close_reason
