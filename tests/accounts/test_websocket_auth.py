"""The Channels middleware fills the scope through the same resolver as DRF."""

import pytest
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.testing import WebsocketCommunicator

from accounts.websocket import CredentialMiddleware
from kernel.errors import Denial


class WhoAmI(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        principal, denial = self.scope["principal"], self.scope["denial"]
        await self.send_json(
            {
                "customer": principal and str(principal.customer.public_id),
                "denial": denial and denial.denial.value,
            }
        )


async def who(path: str, headers=()):
    communicator = WebsocketCommunicator(
        CredentialMiddleware(WhoAmI.as_asgi()), path, headers=list(headers)
    )
    connected, _ = await communicator.connect()
    assert connected
    reply = await communicator.receive_json_from()
    await communicator.disconnect()
    return reply


@pytest.mark.django_db(transaction=True)
async def test_header_key_resolves_the_customer(customer_with_credits):
    c = customer_with_credits
    reply = await who(
        "/",
        [(b"x-api-key", c.secret.encode()), (b"x-customer-id", str(c.customer.public_id).encode())],
    )
    assert reply == {"customer": str(c.customer.public_id), "denial": None}


@pytest.mark.django_db(transaction=True)
async def test_query_key_resolves_the_customer(customer_with_credits):
    c = customer_with_credits
    reply = await who(f"/ws/voice/abc?api_key={c.secret}")
    assert reply["customer"] == str(c.customer.public_id)


@pytest.mark.django_db(transaction=True)
async def test_missing_and_bad_credentials_are_told_apart(customer_with_credits):
    assert (await who("/"))["denial"] == Denial.NO_CREDENTIAL.value
    assert (await who("/?api_key=oak_wrong"))["denial"] == Denial.BAD_CREDENTIAL.value
