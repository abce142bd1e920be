"""Each refusal and failure row as the Bodhi consumer renders it, driven in process
with Channels' WebsocketCommunicator (the daphne tests cover the same end to end)."""

import json
import logging

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from accounts import services
from accounts.websocket import CredentialMiddleware
from billing.services import InsufficientCredits
from kernel.errors import AccessDenied, Denial
from sessions_app.engine import AudioFormatError, EngineOverloaded, Event
from sessions_app.surfaces import websocket
from sessions_app.surfaces.bodhi import consumer as bodhi
from tests.support.bodhi import config, headers_for

pytestmark = pytest.mark.django_db(transaction=True)


def communicator(headers: dict[str, str], *, denial_extension: bool = False):
    """The consumer behind the same credential middleware as in config/asgi.py."""
    ws = WebsocketCommunicator(
        CredentialMiddleware(bodhi.BodhiStreamConsumer.as_asgi()),
        "/",
        headers=[(k.encode(), v.encode()) for k, v in headers.items()],
    )
    if denial_extension:
        ws.scope["extensions"] = {websocket.DENIAL_EXTENSION: {}}
    return ws


async def told(ws: WebsocketCommunicator) -> tuple[dict, int]:
    """The error message and the close code that follows it."""
    body = json.loads(await ws.receive_from(timeout=5))
    assert set(body) == {"error", "message", "code", "timestamp"}, body
    closed = await ws.receive_output(timeout=5)
    assert closed["type"] == "websocket.close", closed
    return body, closed["code"]


def said(body: dict) -> tuple[int, str, str]:
    return body["code"], body["message"], body["error"]


class Overloaded:
    def ensure_capacity(self) -> None:
        raise EngineOverloaded("speech engine is at capacity")


# -- refusals at the handshake -------------------------------------------------------------
async def test_no_credential_is_refused_in_band_with_401(customer_with_credits):
    ws = communicator({})
    assert (await ws.connect())[0]
    body, code = await told(ws)
    assert said(body) == (401, "Invalid or missing API key", "Invalid or missing API key")
    assert code == 4401


async def test_inactive_customer_is_refused_with_403(customer_with_credits):
    await database_sync_to_async(services.set_active)(customer_with_credits.customer, False)
    ws = communicator(headers_for(customer_with_credits))
    await ws.connect()
    body, code = await told(ws)
    assert said(body)[:2] == (403, "Customer account is inactive") and code == 4403


async def test_zero_balance_is_refused_with_402(customer_without_credits):
    ws = communicator(headers_for(customer_without_credits))
    await ws.connect()
    body, code = await told(ws)
    assert said(body)[:2] == (402, "Insufficient credits") and code == 4402


async def test_engine_at_capacity_refuses_with_503_and_a_retryable_close(
    customer_with_credits, monkeypatch
):
    monkeypatch.setattr(websocket, "get_scheduler", Overloaded)
    ws = communicator(headers_for(customer_with_credits))
    await ws.connect()
    body, code = await told(ws)
    assert said(body)[:2] == (503, "Server overloaded, retry later") and code == 1013


async def test_refusal_uses_the_http_status_where_the_server_offers_the_extension(
    customer_without_credits,
):
    ws = communicator(headers_for(customer_without_credits), denial_extension=True)
    await ws.send_input({"type": "websocket.connect"})
    start = await ws.receive_output()
    assert (start["type"], start["status"]) == ("websocket.http.response.start", 402)
    body = await ws.receive_output()
    assert json.loads(body["body"])["code"] == 402


# -- failures once the stream is open ------------------------------------------------------
class FakeSession:
    ended_at = None


class FakeStream:
    """Stands in for AsrStream: `feed` raises what the test sets, nothing touches Whisper."""

    raises: BaseException | None = None
    finals: list[Event] = []

    def __init__(self):
        self.session = FakeSession()
        self.processed_audio = 1.0
        self.segments_finalized = 0
        self.errors: list[dict] = []
        self.closed_with: str | None = None

    @classmethod
    async def open(cls, access, **kwargs) -> "FakeStream":
        cls.opened = cls()
        return cls.opened

    async def feed(self, pcm: bytes) -> list[Event]:
        raise self.raises

    async def finish(self) -> list[Event]:
        self.segments_finalized = len(self.finals)
        return self.finals

    async def close(self, status: str) -> None:
        self.closed_with = status

    async def record_error(self, payload: dict) -> None:
        self.errors.append(payload)


FINAL = Event(kind="final", segment=0, text="ask not", start=0.0, end=0.8, confidence=0.9)


@pytest.fixture
def fake_stream(monkeypatch):
    monkeypatch.setattr(bodhi, "AsrStream", FakeStream)
    monkeypatch.setattr(FakeStream, "finals", [])
    return FakeStream


async def streaming(customer, fake_stream, raises: BaseException, **config_overrides):
    """Open a stream, send one frame that fails with `raises`; what the client is told."""
    fake_stream.raises = raises
    ws = communicator(headers_for(customer))
    assert (await ws.connect())[0]
    await ws.send_to(text_data=config(**config_overrides))
    await ws.send_to(bytes_data=b"\x00\x00" * 1600)
    return ws


async def test_credits_running_out_deliver_what_was_paid_then_402(
    customer_with_credits, fake_stream
):
    exhausted = InsufficientCredits()
    exhausted.deliverable = [FINAL]
    ws = await streaming(customer_with_credits, fake_stream, exhausted)
    delivered = json.loads(await ws.receive_from())
    assert (delivered["type"], delivered["text"]) == ("complete", "ask not")
    body, code = await told(ws)
    assert said(body) == (
        402,
        "Insufficient balance: add credits to continue",
        "Insufficient balance",
    )
    assert code == 4402
    assert fake_stream.opened.errors == [body] and fake_stream.opened.closed_with == "failed"


@pytest.mark.parametrize(
    ("raises", "expected", "close"),
    [
        (AccessDenied(Denial.CUSTOMER_INACTIVE), (403, "Customer account is inactive", "Customer account is inactive"), 4403),
        (EngineOverloaded("queue full"), (503, "Server overloaded, retry later", "Server overloaded, retry later"), 1013),
        (AudioFormatError("odd frame"), (400, "Unsupported audio: odd frame", "Unsupported audio: odd frame"), 4400),
        (RuntimeError("boom"), (500, "Internal server error", "Internal server error"), 1011),
    ],
)  # fmt: skip
async def test_each_failure_row_is_told_then_closed(
    customer_with_credits, fake_stream, raises, expected, close
):
    ws = await streaming(customer_with_credits, fake_stream, raises)
    body, code = await told(ws)
    assert (said(body), code) == (expected, close)
    assert fake_stream.opened.closed_with == "failed"


async def test_internal_failure_is_logged_with_the_call_id(
    customer_with_credits, fake_stream, caplog
):
    with caplog.at_level(logging.ERROR, logger="parlance.bodhi"):
        ws = await streaming(customer_with_credits, fake_stream, RuntimeError("boom"))
        await told(ws)
    record = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert record.getMessage().endswith("stream failed") and record.exc_info[1].args == ("boom",)


async def test_unknown_model_is_400_model_not_available(customer_with_credits):
    """The real AsrStream: the model is resolved before any session or audio."""
    ws = communicator(headers_for(customer_with_credits))
    await ws.connect()
    await ws.send_to(text_data=config(model="zz-banking-v2-8khz"))
    body, code = await told(ws)
    assert said(body)[:2] == (400, "model 'zz-banking-v2-8khz' is not available")
    assert code == 4400


async def test_idle_stream_is_told_408_and_closed(customer_with_credits, fake_stream, settings):
    settings.BODHI_IDLE_TIMEOUT_SECONDS = 1
    ws = communicator(headers_for(customer_with_credits))
    await ws.connect()
    await ws.send_to(text_data=config())
    body, code = await told(ws)
    assert said(body) == (408, "No message received for 1 s", "Idle timeout") and code == 4408


async def test_nothing_is_sent_after_a_failure(customer_with_credits, fake_stream):
    ws = await streaming(customer_with_credits, fake_stream, EngineOverloaded("queue full"))
    await told(ws)
    await ws.send_to(text_data=json.dumps({"eof": 1}))
    assert await ws.receive_nothing(timeout=0.5)


@pytest.mark.parametrize(("exclude_partial", "eos_type"), [(False, "partial"), (True, "complete")])
async def test_eof_ends_with_an_eos_of_a_type_the_stream_was_promised(
    customer_with_credits, fake_stream, monkeypatch, exclude_partial, eos_type
):
    monkeypatch.setattr(fake_stream, "finals", [FINAL])
    ws = communicator(headers_for(customer_with_credits))
    await ws.connect()
    await ws.send_to(text_data=config(exclude_partial=exclude_partial))
    await ws.send_to(text_data=json.dumps({"eof": 1}))
    last = json.loads(await ws.receive_from())
    assert (last["type"], last["eos"]) == ("complete", False)
    eos = json.loads(await ws.receive_from())
    assert (eos["type"], eos["eos"], eos["text"], eos["segment_id"]) == (eos_type, True, "", 1)
    assert (await ws.receive_output())["code"] == 1000
