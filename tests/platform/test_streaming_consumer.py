"""The WebSocket surface base: refusal and failure go through the surface's render
hooks, the ending latch stops everything, and the idle schedule fits both a surface
that hangs up at once (Bodhi) and one that warns twice first (NextEVI)."""

import json
import logging

import pytest
from channels.testing import WebsocketCommunicator

from accounts.websocket import CredentialMiddleware
from billing.products import Product
from sessions_app.engine import EngineOverloaded
from sessions_app.failures import Classified
from sessions_app.surfaces.websocket import Refusal, StreamingConsumer


class WarnsTwice(StreamingConsumer):
    """A toy surface: echoes text, warns at 0.2 s and 0.4 s of silence, hangs up at 0.6 s."""

    product = Product.ASR
    log = logging.getLogger("tests.streaming")

    async def received(self, text, data):
        if text == "overload":
            raise EngineOverloaded("queue full")
        await self.send(text_data=f"echo {text}")

    def render_refusal(self, refused: Classified) -> Refusal:
        return Refusal(401, {"refused": refused.row.value}, 4001)

    async def render_failure(self, failure: Classified) -> None:
        await self.send(text_data=json.dumps({"failed": failure.row.value}))
        await self.close(code=4500)

    def idle_schedule(self) -> tuple[float, ...]:
        return (0.2, 0.4, 0.6)

    async def on_idle(self, step: int, idle_for: float) -> None:
        if step < 2:
            await self.send(text_data=f"still there? ({idle_for:g} s)")
        elif self.start_ending():
            await self.send(text_data="bye")
            await self.close(code=4008)


def communicator(customer=None) -> WebsocketCommunicator:
    headers = [(b"x-api-key", customer.secret.encode())] if customer else []
    return WebsocketCommunicator(CredentialMiddleware(WarnsTwice.as_asgi()), "/", headers=headers)


async def closed_with(ws: WebsocketCommunicator) -> int:
    output = await ws.receive_output(timeout=2)
    assert output["type"] == "websocket.close", output
    return output["code"]


@pytest.mark.django_db(transaction=True)
async def test_idle_schedule_warns_twice_then_hangs_up(customer_with_credits):
    ws = communicator(customer_with_credits)
    assert (await ws.connect())[0]
    assert await ws.receive_from(timeout=2) == "still there? (0.2 s)"
    assert await ws.receive_from(timeout=2) == "still there? (0.4 s)"
    assert await ws.receive_from(timeout=2) == "bye"
    assert await closed_with(ws) == 4008


@pytest.mark.django_db(transaction=True)
async def test_a_message_starts_the_idle_schedule_over(customer_with_credits):
    ws = communicator(customer_with_credits)
    await ws.connect()
    assert await ws.receive_from(timeout=2) == "still there? (0.2 s)"
    await ws.send_to(text_data="hello")
    assert await ws.receive_from() == "echo hello"
    assert await ws.receive_from(timeout=2) == "still there? (0.2 s)", "the first warning again"
    await ws.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_nothing_is_processed_once_the_stream_is_ending(customer_with_credits):
    ws = communicator(customer_with_credits)
    await ws.connect()
    await ws.send_to(text_data="overload")
    assert json.loads(await ws.receive_from()) == {"failed": "overloaded"}
    assert await closed_with(ws) == 4500
    await ws.send_to(text_data="hello")
    assert await ws.receive_nothing(timeout=0.8), "no echo, and no idle warning either"


@pytest.mark.django_db(transaction=True)
async def test_a_refused_handshake_is_rendered_by_the_surface(customer_with_credits):
    ws = communicator()
    assert (await ws.connect())[0], "accepted in band: no Denial Response extension"
    assert json.loads(await ws.receive_from()) == {"refused": "denied"}
    assert await closed_with(ws) == 4001
