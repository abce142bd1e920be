"""Streaming recognition with clients that behave like Bodhi's, against a real daphne."""

import asyncio
import json

import numpy as np
import pytest

from billing import services as billing
from billing.models import LedgerEntry
from sessions_app.models import Session, SessionEvent
from tests.support import FIXTURES
from tests.support.audio import pcm16
from tests.support.bodhi import config, frames_of, headers_for, pcm_of, stream, ws_url

pytestmark = pytest.mark.integration

JFK_WORDS = {"fellow", "americans", "ask", "country"}


def trace(result) -> list:
    """What the client saw, for failure messages."""
    return [
        (m.get("type"), m.get("segment_id"), m.get("text"), m.get("eos"), m.get("error"))
        for m in result.messages
    ]


def words(text: str) -> set[str]:
    return {"".join(c for c in w.lower() if c.isalpha()) for w in text.split()}


def assert_sdk_fields(message: dict) -> None:
    """What bodhi-sdk indexes directly on every message; a missing one breaks it."""
    for key in ("call_id", "segment_id", "eos", "type", "text", "segment_meta"):
        assert key in message, (key, message)
    meta = message["segment_meta"]
    assert isinstance(meta["tokens"], list) and isinstance(meta["timestamps"], list)
    assert len(meta["tokens"]) == len(meta["timestamps"])
    assert isinstance(meta["start_time"], float | int)
    assert isinstance(message["segment_id"], int)


def test_sdk_client_20ms_frames_real_time_with_stripped_header(
    live, customer_with_credits, jfk_wav
):
    pcm, rate = pcm_of(jfk_wav)  # the SDK reads the WAV with `wave` and sends raw frames
    result = asyncio.run(
        stream(
            ws_url(live),
            headers_for(customer_with_credits),
            [config(sample_rate=rate), *frames_of(pcm, 640)],
            frame_seconds=0.02,
        )
    )
    assert not result.errors, result.errors
    for message in result.messages:
        assert_sdk_fields(message)
    assert len({m["call_id"] for m in result.messages}) == 1
    assert words(result.text) >= JFK_WORDS, trace(result)
    assert any(m["type"] == "partial" and m["text"] for m in result.messages), (
        "partials while speaking"
    )
    ids = [m["segment_id"] for m in result.completes]
    assert ids == list(range(len(ids))), "one complete per segment, numbered from 0"
    for complete in result.completes:
        meta = complete["segment_meta"]
        assert meta["words"] and all(
            {"word", "confidence", "start_time", "end_time"} <= w.keys() for w in meta["words"]
        )
        assert 0 <= meta["timestamps"][-1] <= 20, "timestamps are relative to the segment start"
    starts = [m["segment_meta"]["start_time"] for m in result.completes]
    assert starts == sorted(starts) and starts[-1] > 5, "start_time is on the stream's timeline"
    last = result.messages[-1]
    assert last["eos"] is True and all(not m["eos"] for m in result.messages[:-1])
    assert result.close_code == 1000, "the server closes after eos"


def test_node_client_100ms_frames_at_twice_real_time(live, customer_with_credits, jfk_wav):
    pcm, rate = pcm_of(jfk_wav)
    result = asyncio.run(
        stream(
            ws_url(live),
            headers_for(customer_with_credits),
            [config(sample_rate=rate), *frames_of(pcm, 3200)],
            frame_seconds=0.1,
            pace=2.0,
        )
    )
    assert not result.errors
    assert words(result.text) >= JFK_WORDS, trace(result)
    assert result.messages[-1]["eos"] and result.close_code == 1000


def test_wav_header_in_the_first_frame_is_tolerated(live, customer_with_credits, jfk_wav):
    """sox-based clients send the RIFF header as the start of their first frame."""
    result = asyncio.run(
        stream(
            ws_url(live), headers_for(customer_with_credits), [config(), *frames_of(jfk_wav, 32000)]
        )
    )
    assert not result.errors
    assert words(result.text) >= JFK_WORDS, trace(result)


def test_eof_flushes_the_open_segment_at_8khz(live, customer_with_credits, jfk_8k_pcm):
    """Telephony audio that stops mid-speech: eof still yields the last complete."""
    cut = jfk_8k_pcm[: len(jfk_8k_pcm) - 8000]  # the final "country" is cut short
    result = asyncio.run(
        stream(
            ws_url(live),
            headers_for(customer_with_credits),
            [config(sample_rate=8000, exclude_partial=True), *frames_of(cut, 320 * 50)],
        )
    )
    assert not result.errors
    assert all(m["type"] == "complete" for m in result.messages[:-1]), (
        "exclude_partial sends no partials"
    )
    assert "ask what you can do for your" in result.text.lower().replace(",", "")
    assert result.messages[-1]["eos"]


@pytest.fixture(scope="module")
def two_voice_call() -> bytes:
    """12 s of a call at 16 kHz: one voice, a pause, the other voice, a pause."""
    from sessions_app.engine import decode_file

    call = decode_file(FIXTURES / "two_speakers.flac")  # one speaker per channel, 5 s
    pause = np.zeros(16000, np.float32)
    return pcm16(np.concatenate([call.channel(0), pause, call.channel(1), pause]))


def test_exclude_partial_stream_never_sends_a_partial_not_even_its_eos(
    live, customer_with_credits, two_voice_call
):
    """As reported: 16 kHz, 100 ms frames at 4x real time, 12 s of a two-voice call, eof."""
    assert len(two_voice_call) == 12 * 16000 * 2
    result = asyncio.run(
        stream(
            ws_url(live),
            headers_for(customer_with_credits),
            [config(exclude_partial=True), *frames_of(two_voice_call, 3200)],
            frame_seconds=0.1,
            pace=4.0,
        )
    )
    assert not result.errors, result.errors
    assert {m["type"] for m in result.messages} == {"complete"}, trace(result)
    assert {"horizon", "wizard"} <= words(result.text), trace(result)
    for message in result.messages:
        assert_sdk_fields(message)
    eos = result.messages[-1]
    assert eos["eos"] is True and eos["text"] == "" and eos["segment_meta"]["confidence"] == 0
    assert all(not m["eos"] for m in result.messages[:-1])
    assert result.close_code == 1000


def test_options_aux_lid_and_parse_number(live, customer_with_credits, jfk_wav):
    result = asyncio.run(
        stream(
            ws_url(live),
            headers_for(customer_with_credits),
            [
                config(
                    aux=True,
                    at_start_lid=True,
                    parse_number=True,
                    hotwords=[{"phrase": "Americans", "score": None}],
                    endpoint_silence_duration=5,
                    unknown_future_key={"x": 1},
                    transliterate=None,
                ),
                *frames_of(pcm_of(jfk_wav)[0], 32000),
            ],
        )
    )
    assert not result.errors, result.errors
    complete = result.completes[0]
    assert complete["language_code"] == "en"
    assert set(complete["aux_info"]) == {
        "request_time",
        "eot_wait_time",
        "processed_audio_duration",
    }


def test_processed_audio_is_billed_per_segment_once(live, customer_with_credits, jfk_wav):
    c = customer_with_credits
    result = asyncio.run(
        stream(ws_url(live), headers_for(c), [config(), *frames_of(pcm_of(jfk_wav)[0], 16000)])
    )
    assert not result.errors
    session = Session.objects.get(kind="asr_stream", customer=c.customer)
    assert (
        session.status == "completed"
        and session.metadata["call_id"] == result.messages[0]["call_id"]
    )
    usage = LedgerEntry.objects.filter(
        customer=c.customer, kind="usage", session_ref=str(session.pk)
    )
    assert usage.count() == len(result.completes) + 1, "one charge per segment, plus the tail"
    billed = sum(-e.amount for e in usage)
    assert 11.9 <= billed <= 12.1, "12 s of audio processed, 1 credit per second"
    assert billing.balance(c.customer) == 100 - billed
    finals = SessionEvent.objects.filter(session=session, type="final").order_by("seq")
    assert [e.payload["text"] for e in finals] == [m["text"] for m in result.completes]


def test_credits_running_out_mid_stream_end_it_with_402(live, customer_without_credits, jfk_wav):
    c = customer_without_credits
    billing.grant(c.customer, 4, reason="test", idempotency_key="four")
    result = asyncio.run(
        stream(ws_url(live), headers_for(c), [config(), *frames_of(pcm_of(jfk_wav)[0], 3200)])
    )
    assert len(result.completes) >= 1, "what the balance covered is delivered"
    error = result.errors[-1]
    assert error["code"] == 402 and set(error) == {"error", "message", "code", "timestamp"}
    assert result.close_code == 4402
    assert 0 <= billing.balance(c.customer) < 4
    assert (
        sum(-e.amount for e in LedgerEntry.objects.filter(customer=c.customer, kind="usage")) <= 4
    )


def test_client_closing_right_after_eof_does_not_break_the_server(
    live, customer_with_credits, jfk_wav
):
    """The microphone client sends eof and closes at once, never reading the results."""
    import websockets

    async def rude():
        async with websockets.connect(
            ws_url(live), additional_headers=headers_for(customer_with_credits)
        ) as ws:
            await ws.send(config())
            for frame in frames_of(pcm_of(jfk_wav)[0][:64000], 3200):
                await ws.send(frame)
            await ws.send(json.dumps({"eof": 1}))

    asyncio.run(rude())
    assert asyncio.run(
        stream(ws_url(live), headers_for(customer_with_credits), [config()])
    ).messages[-1]["eos"]
