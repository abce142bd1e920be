"""The voice interface's remaining error paths, its LLM path, the greeting, settings
changed mid-call and the call's record, through a real daphne as NextEVI's clients see
them. The LLM is the one test double: a stand-in chat-completions server on loopback."""

import asyncio
import base64
import contextlib
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import httpx
import jwt
import numpy as np
import pytest
import websockets
from django.conf import settings
from django.utils import timezone

from accounts import services, tokens
from billing import services as billing
from sessions_app.dialogue.call import APOLOGY
from sessions_app.dialogue.speech import Synthesizer
from sessions_app.engine import decode_file
from sessions_app.models import Session
from sessions_app.surfaces.voice.protocol import NUMERIC_CODES
from tests.support import FIXTURES
from tests.support.audio import wav_bytes
from tests.support.bodhi import headers_for
from tests.support.llm import Exchange, Script, StandIn, bound_socket, serving, streams
from tests.support.servers import AsgiServer, server_env
from tests.support.voice import RATE, Call, refused, talk, voice_url

pytestmark = pytest.mark.integration

MIN_CLOSE_DELAY = 0.05  # the close follows the error by CLOSE_DELAY (0.1 s); loosely


def spoken(text: str, lead: float = 0.5) -> bytes:
    """`text` in piper's voice at 24 kHz, after `lead` seconds of silence."""
    return quiet(lead) + b"".join(Synthesizer().synthesize(text))


def quiet(seconds: float) -> bytes:
    return b"\x00\x00" * int(RATE * seconds)


@pytest.fixture(scope="module")
def question() -> bytes:
    return spoken("What time does the store open tomorrow morning?")


@pytest.fixture(scope="module")
def second_question() -> bytes:
    return spoken("And when does it close in the evening?")


def url_for(server, customer, **query) -> str:
    query.setdefault("api_key", customer.secret)
    return voice_url(server, config_id=customer.config.public_id, **query)


def set_voice(customer, voice: dict) -> None:
    customer.config.voice = voice
    customer.config.save(update_fields=["voice"])


def generation(call: Call, content: str) -> str | None:
    """The generation id of the reply whose final text is `content`, once it came."""
    return next(
        (
            m["generation_id"]
            for m in call.of("llm_response_chunk")
            if m["is_final"] and m["content"] == content
        ),
        None,
    )


def spoken_in_full(content: str) -> Callable[[Call], bool]:
    """Whether the reply `content` has been written in full and its last chunk sent."""

    def done(call: Call) -> bool:
        g = generation(call, content)
        return g is not None and any(
            m["is_last"] and m["chunk_id"].startswith(g + "-") for m in call.of("tts_chunk")
        )

    return done


def audio_of(call: Call, generation_id: str) -> bytes:
    return b"".join(
        base64.b64decode(m["content"])
        for m in call.of("tts_chunk")
        if m["chunk_id"].startswith(generation_id + "-")
    )


def ended_sessions(customer, timeout: float = 10.0) -> list[Session]:
    """The customer's voice sessions once the server has ended them all. It ends one as
    its socket closes, a moment after the client sees the close: a test that hung up
    waits for it, so the server's last writes never race the database flush after it."""
    deadline = time.monotonic() + timeout
    while True:
        sessions = list(Session.objects.filter(customer=customer.customer, kind=Session.Kind.VOICE))
        if all(s.ended_at for s in sessions) or time.monotonic() > deadline:
            return sessions
        time.sleep(0.1)


def finished_session(customer) -> Session:
    """The customer's one voice session, ended."""
    (session,) = ended_sessions(customer)
    return session


# -- refusals -----------------------------------------------------------------------------
def assert_told_then_closed(call: Call, closed_at: float, error_code: str, close: int) -> dict:
    """The refusal's one `error` message as docs/errors.md gives it, then the close
    with its code and reason phrase, about CLOSE_DELAY later."""
    assert call.types == ["error"], call.messages
    error = call.messages[0]
    assert error["error_code"] == error_code and error["data"]["error_code"] == error_code
    assert error["error_message"] and error["error"] == error["error_message"]
    assert error.get("code") == NUMERIC_CODES.get(error_code)
    assert call.close_code == close and call.close_reason
    assert closed_at - call.received_at[0] >= MIN_CLOSE_DELAY
    return error


async def refusal(url: str) -> tuple[Call, float]:
    call = await refused(url)
    return call, time.monotonic()


def deactivated(live, customer) -> str:
    services.set_active(customer.customer, False)
    return url_for(live, customer)


def key_for_another_project(live, customer) -> str:
    other = services.create_project(customer.customer, "Other project")
    _key, secret = services.create_api_key(customer.customer, projects=[other])
    return url_for(live, customer, api_key=secret)


def unknown_project(live, customer) -> str:
    return url_for(live, customer, project_id="proj_doesnotexist0")


def revoked_key(live, customer) -> str:
    services.revoke_api_key(customer.api_key)
    return url_for(live, customer)


def expired_jwt(live, customer) -> str:
    now = timezone.now()
    token = jwt.encode(
        {
            "iss": tokens.ISSUER,
            "sub": str(customer.customer.public_id),
            "prj": customer.project.public_id,
            "akp": customer.api_key.prefix,
            "iat": now - timedelta(hours=2),
            "exp": now - timedelta(hours=1),
        },
        settings.JWT_SIGNING_KEY,
        algorithm=tokens.ALGORITHM,
    )
    return voice_url(live, config_id=customer.config.public_id, authorization=f"Bearer {token}")


@pytest.mark.parametrize(
    ("make_url", "error_code", "close"),
    [
        (deactivated, "ACCESS_DENIED", 4003),
        (key_for_another_project, "ACCESS_DENIED", 4003),
        (unknown_project, "INVALID_PROJECT", 4004),
        (revoked_key, "AUTH_FAILED", 4001),
        (expired_jwt, "AUTH_FAILED", 4001),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_each_refusal_is_told_then_closed_with_its_code_a_moment_later(
    live, customer_with_credits, make_url: Callable, error_code: str, close: int
):
    call, closed_at = asyncio.run(refusal(make_url(live, customer_with_credits)))
    assert_told_then_closed(call, closed_at, error_code, close)


def test_another_tenants_project_is_refused_as_an_invalid_project(
    live, customer_with_credits, outsider
):
    url = url_for(live, customer_with_credits, project_id=outsider.project.public_id)
    call, closed_at = asyncio.run(refusal(url))
    assert_told_then_closed(call, closed_at, "INVALID_PROJECT", 4004)


@pytest.fixture(scope="module")
def one_worker_daphne(django_db_setup, tmp_path_factory):
    """A daphne whose engine has one worker and no wait budget: while one inference job
    runs, the scheduler's admission check (the same one a real overload trips, with
    expected work ahead > ENGINE_MAX_WAIT) refuses new calls. Nothing is patched."""
    server = AsgiServer(
        server_env(ENGINE_WORKERS="1", ENGINE_MAX_WAIT="0"),
        tmp_path_factory.mktemp("busy") / "daphne.log",
    )
    yield server
    server.stop()


def long_recording(repeats: int = 2) -> bytes:
    """JFK's line twice over (22 s of speech): one batch job that keeps the single
    worker busy for seconds."""
    line = decode_file(FIXTURES / "jfk.ogg").mono()
    return wav_bytes([np.tile(line, repeats)])


async def knock(url: str) -> tuple[Call, float] | None:
    """Connect once: the refusal and when it closed, or None when the call was admitted
    (then it is hung up at once)."""
    call = Call()
    async with websockets.connect(url, open_timeout=20) as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if first["type"] != "error":
            return None
        call.messages.append(first)
        call.received_at.append(time.monotonic())
        with contextlib.suppress(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        call.close_code, call.close_reason = ws.close_code, ws.close_reason or ""
    return call, time.monotonic()


def test_a_call_while_the_engine_is_saturated_is_told_service_unavailable_with_a_retryable_close(
    one_worker_daphne, transactional_db
):
    customer = services.provision_customer("Busy Ltd", plan_code="pro", credits=Decimal("1000"))
    url = url_for(one_worker_daphne, customer)
    recording = long_recording()
    transcribed: list[httpx.Response] = []

    def transcribe() -> None:
        with httpx.Client(base_url=one_worker_daphne.url, timeout=120) as client:
            transcribed.append(
                client.post(
                    "/api/transcribe",
                    headers=headers_for(customer),
                    data={"transaction_id": str(uuid.uuid4()), "model": "en-general-v2-8khz"},
                    files={"audio_file": ("long.wav", recording, "audio/wav")},
                )
            )

    async def until_refused() -> tuple[Call, float]:
        # The batch job starts once its upload is in: knock until the door is shut.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not transcribed:
            knocked = await knock(url)
            if knocked is not None:
                return knocked
            await asyncio.sleep(0.05)
        raise AssertionError("never refused while the engine was busy")

    worker = threading.Thread(target=transcribe)
    worker.start()
    try:
        call, closed_at = asyncio.run(until_refused())
    finally:
        worker.join(120)
    error = assert_told_then_closed(call, closed_at, "SERVICE_UNAVAILABLE", 3503)
    assert error["code"] == 5503
    assert transcribed and transcribed[0].status_code == 200, transcribed
    assert asyncio.run(knock(url)) is None  # the engine is free again: admitted
    assert all(s.ended_at for s in ended_sessions(customer))


# -- credits running out mid-call ---------------------------------------------------------
def test_credits_running_out_mid_call_end_it_with_access_denied_and_nothing_beyond_the_balance(
    live,
):
    # Billed every BILLING_SECONDS (5 s) of connected time: 6 credits pay the first
    # charge, not the second, ten seconds in.
    customer = services.provision_customer("Six Credits", plan_code="pro", credits=Decimal("6"))
    call = asyncio.run(talk(url_for(live, customer), b"", tail_seconds=14))
    assert call.types[-1] == "error", call.types
    error = call.messages[-1]
    assert error["error_code"] == "ACCESS_DENIED" and "credits" in error["error_message"].lower()
    assert "credits" in error["details"]["reason"].lower()
    assert call.close_code == 4003 and call.close_reason
    session = finished_session(customer)
    assert session.status == Session.Status.FAILED and session.ended_at
    assert billing.balance(customer.customer) == 0
    assert 0 < session.billed_seconds <= Decimal("6")


def test_hanging_up_with_too_few_credits_for_the_last_stretch_bills_the_balance_and_ends_the_session(
    live,
):
    # Five seconds are billed; the caller hangs up at eight with one credit left.
    customer = services.provision_customer("Six Credits", plan_code="pro", credits=Decimal("6"))
    call = asyncio.run(talk(url_for(live, customer), b"", tail_seconds=8))
    assert call.close_code == 1000 and not call.of("error")
    session = finished_session(customer)
    assert session.ended_at and session.status == Session.Status.COMPLETED
    assert billing.balance(customer.customer) == 0 and session.billed_seconds == Decimal("6")
    transcript = settings.DATA_DIR / "conversations" / session.conversation_id / "transcript.json"
    assert transcript.exists()


# -- the OpenAI-compatible responder ------------------------------------------------------
def in_turn(*scripts: Script) -> Script:
    """Answer the first request with the first script, the second with the next, …"""
    ahead = iter(scripts)

    async def script(exchange: Exchange) -> None:
        await next(ahead)(exchange)

    return script


def fails_with(status: int, message: str) -> Script:
    async def script(exchange: Exchange) -> None:
        body = json.dumps({"error": {"message": message}}).encode()
        await exchange.answer(status, body)

    return script


SYSTEM_PROMPT = "You are the Acme store's assistant. Keep answers short."
ANSWER = ("The store ", "opens at ", "nine ", "tomorrow morning.")
SECOND_ANSWER = ("It closes ", "at six ", "in the evening.")


def call_the_llm(
    url: str, customer, script: Script, pcm: bytes, last_reply: tuple[str, ...]
) -> tuple[Call, StandIn]:
    """A spoken call to a config whose responder is the stand-in, answering by `script`,
    until `last_reply` has been spoken (or `pcm` and a silence after it are sent)."""
    sock = bound_socket()
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    set_voice(
        customer,
        {
            "responder": "openai_compatible",
            "llm": {"base_url": base_url, "model": "stand-in"},
            "system_prompt": SYSTEM_PROMPT,
        },
    )

    async def run() -> tuple[Call, StandIn]:
        async with serving(sock) as stand_in:
            stand_in.script = script
            done = spoken_in_full("".join(last_reply))
            return await talk(url, pcm, tail_seconds=12, until=done), stand_in

    return asyncio.run(run())


def assert_answered_with(call: Call, deltas: tuple[str, ...]) -> None:
    """The reply is the stand-in's words, streamed as cumulative chunks, and spoken."""
    g = generation(call, "".join(deltas))
    assert g is not None, call.of("llm_response_chunk")
    chunks = [m for m in call.of("llm_response_chunk") if m["generation_id"] == g]
    assert [m["content"] for m in chunks[: len(deltas)]] == list(itertools.accumulate(deltas))
    assert [m["chunk_index"] for m in chunks] == list(range(len(chunks)))
    assert chunks[-1]["is_final"] and not any(m["is_final"] for m in chunks[:-1])
    speech = audio_of(call, g)
    assert len(speech) / 2 / RATE > 1.0  # several words of it, not a click
    assert [m for m in call.of("tts_chunk") if m["chunk_id"].startswith(g + "-")][-1]["is_last"]


def test_the_llm_responder_streams_the_models_words_and_speaks_them(
    live, customer_with_credits, question
):
    url = url_for(live, customer_with_credits)
    call, stand_in = call_the_llm(url, customer_with_credits, streams(*ANSWER), question, ANSWER)
    assert_answered_with(call, ANSWER)
    (request,) = stand_in.requests
    assert request.path == "/v1/chat/completions" and request.body["model"] == "stand-in"
    assert request.body["stream"] is True
    system, *_, user = request.body["messages"]
    assert system["role"] == "system" and system["content"].startswith(SYSTEM_PROMPT)
    assert user["role"] == "user"
    assert re.match(r"\[the user sounds [^]:]+(: [^]]+ \d+%)?\] ", user["content"]), user
    assert "store" in user["content"].lower() and "open" in user["content"].lower()
    assert finished_session(customer_with_credits).ended_at


def test_a_failing_llm_is_apologised_for_with_an_error_and_the_call_goes_on(
    live, customer_with_credits, question, second_question
):
    url = url_for(live, customer_with_credits)
    script = in_turn(fails_with(500, "model stand-in ran out of memory"), streams(*SECOND_ANSWER))
    pcm = question + quiet(8) + second_question  # the apology is over before it
    call, stand_in = call_the_llm(url, customer_with_credits, script, pcm, SECOND_ANSWER)
    errors = call.of("error")
    assert len(errors) == 1 and "500" in errors[0]["error_message"], errors
    apology = generation(call, APOLOGY)
    assert (
        apology is not None and len(audio_of(call, apology)) / 2 / RATE > 1.0
    )  # the caller hears it
    assert call.types.index("error") < call.types.index("tts_chunk")
    assert_answered_with(call, SECOND_ANSWER)
    assert len(stand_in.requests) == 2
    assert call.close_code == 1000  # the client hung up; the server never did
    assert finished_session(customer_with_credits).ended_at


# -- the greeting -------------------------------------------------------------------------
def test_a_configured_greeting_is_sent_right_after_connection_metadata_and_spoken(
    live, customer_with_credits
):
    greeting = "Hello, you have reached Acme. How can I help you today?"
    set_voice(customer_with_credits, {"greeting": greeting})
    call = asyncio.run(
        talk(
            url_for(live, customer_with_credits),
            b"",
            tail_seconds=15,
            until=spoken_in_full(greeting),
        )
    )
    assert call.types[:2] == ["connection_metadata", "system_message"], call.types
    initial = call.messages[1]
    assert initial["message_type"] == "initial" and initial["content"] == greeting
    spoken_greeting = generation(call, greeting)
    assert spoken_greeting and len(audio_of(call, spoken_greeting)) / 2 / RATE > 1.5
    assert finished_session(customer_with_credits).ended_at


# -- session settings mid-call ----------------------------------------------------------
def test_idle_timeouts_changed_mid_call_take_effect(live, customer_with_credits):
    async def shorten_idle_timeouts(ws, call) -> None:
        await asyncio.sleep(1.0)  # audio is flowing
        idle = {"warning_timeout": 1, "hangup_timeout": 3, "enabled": True}
        await ws.send(json.dumps({"type": "session_settings", "idle_timeout": idle}))

    call = asyncio.run(
        talk(
            url_for(live, customer_with_credits),
            b"",
            tail_seconds=10,  # the defaults (30 s, 60 s) would say nothing in this time
            during=shorten_idle_timeouts,
        )
    )
    kinds = [(m["type"], m.get("warning_type") or m.get("message_type")) for m in call.messages]
    assert ("idle_warning", "warning") in kinds and ("idle_warning", "final_warning") in kinds
    assert ("system_message", "hangup") in kinds
    assert call.close_code == 1000 and call.close_reason


def test_a_sample_rate_change_after_audio_started_is_refused_and_the_call_goes_on(
    live, customer_with_credits
):
    async def exchange() -> tuple[dict, dict]:
        async with websockets.connect(url_for(live, customer_with_credits)) as ws:
            await ws.recv()  # connection_metadata
            await ws.send(quiet(0.2))
            await ws.send(json.dumps({"type": "session_settings", "sample_rate": 16000}))
            refused_change = json.loads(await asyncio.wait_for(ws.recv(), 10))
            await ws.send(quiet(0.2))  # still read at 24 kHz
            await ws.send(json.dumps({"type": "text_input", "text": "Are you still there?"}))
            while True:
                reply = json.loads(await asyncio.wait_for(ws.recv(), 20))
                if reply["type"] == "llm_response_chunk" and reply["is_final"]:
                    return refused_change, reply

    refused_change, reply = asyncio.run(exchange())
    assert refused_change["type"] == "error"
    assert refused_change["error_code"] == "AUDIO_FORMAT_UNSUPPORTED"
    assert refused_change["code"] == 5002
    assert reply["content"]
    assert finished_session(customer_with_credits).ended_at


# -- the call's record --------------------------------------------------------------------
def test_a_finished_call_is_a_voice_session_with_both_sides_and_the_interruption_recorded(
    live, customer_with_credits, question
):
    interruption = spoken("No wait, I meant the other store.", lead=0)

    async def barge_in(ws, call) -> None:
        while not call.of("tts_chunk"):
            await asyncio.sleep(0.02)
        for offset in range(0, len(interruption), 4096):
            await ws.send(interruption[offset : offset + 4096])
            await asyncio.sleep(4096 / 2 / RATE)

    def second_reply_spoken(c: Call) -> bool:
        stopped = c.types.index("tts_interruption") if "tts_interruption" in c.types else None
        return stopped is not None and any(
            m.get("is_last") for m in c.messages[stopped:] if m["type"] == "tts_chunk"
        )

    call = asyncio.run(
        talk(
            url_for(live, customer_with_credits),
            question,
            tail_seconds=25,
            during=barge_in,
            until=second_reply_spoken,
        )
    )
    assert call.of("tts_interruption"), call.types
    session = finished_session(customer_with_credits)
    assert session.ended_at and session.status == Session.Status.COMPLETED
    kinds = set(session.events.values_list("type", flat=True))
    assert {"user_turn", "user_emotion", "assistant_turn"} <= kinds, kinds
    assert "tts_chunk" not in kinds
    path = settings.DATA_DIR / "conversations" / session.conversation_id / "transcript.json"
    transcript = json.loads(path.read_text())
    roles = [t["role"] for t in transcript]
    assert roles.count("user") >= 2 and "assistant" in roles, transcript
    assert any(t["role"] == "user" and "store" in t["text"].lower() for t in transcript)
    assert any(t["role"] == "user" and t.get("emotion") for t in transcript)
    # The interruption may come as two finals ("No wait," / "I meant…"), each cutting a
    # reply short: every cut reply is kept as far as it was heard, marked interrupted.
    assistant = [t for t in transcript if t["role"] == "assistant"]
    interrupted = [t for t in assistant if t["interrupted"]]
    assert interrupted and all(t["text"] for t in interrupted), transcript
