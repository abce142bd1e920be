"""Every Bodhi error path: {"error", "message", "code", "timestamp"} then close."""

import asyncio
import json
import time
import uuid

import httpx
import pytest
import websockets

from accounts import services
from tests.support.bodhi import config, headers_for, stream, ws_url

pytestmark = pytest.mark.integration


def only_error(result) -> dict:
    assert len(result.messages) == 1, result.messages
    error = result.messages[0]
    assert set(error) == {"error", "message", "code", "timestamp"}
    assert error["timestamp"].endswith("Z")
    return error


def run(live, headers, frames, **kwargs):
    return asyncio.run(stream(ws_url(live), headers, frames, eof=False, **kwargs))


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        (["{not json"], "Malformed JSON in text message"),
        ([json.dumps({"hello": 1})], 'The first message must be {"config": {...}}'),
        ([config(transaction_id=None)], "transaction_id is required"),
        ([config(transaction_id="call-42")], "transaction_id must be a UUID"),
        ([config(model="zz-banking-v2-8khz")], "model 'zz-banking-v2-8khz' is not available"),
        ([config(sample_rate=4000)], "sample_rate must be between 8000 and 48000"),
        ([config(sample_rate="fast")], "sample_rate must be an integer, got 'fast'"),
        ([config(channels=2)], "Only mono audio (channels: 1) is supported"),
        ([config(hotwords="[{")], "hotwords must be a JSON array of {phrase, score}"),
        ([b"\x00\x01" * 320], 'Audio received before {"config": {...}}'),
        ([json.dumps({"eof": 1})], 'eof received before {"config": {...}}'),
        ([config(), config()], "A config was already received on this connection"),
    ],
)
def test_bad_config_gets_400_and_close(live, customer_with_credits, frames, message):
    result = run(live, headers_for(customer_with_credits), frames)
    error = only_error(result)
    assert (error["code"], error["message"]) == (400, message)
    assert result.close_code == 4400


def test_no_key_gets_401_in_band_under_daphne(live, customer_with_credits):
    result = run(live, {}, [config()])
    assert only_error(result)["code"] == 401 and result.close_code == 4401


def test_unknown_key_gets_401(live, customer_with_credits):
    result = run(live, {"x-api-key": "oak_" + "x" * 40}, [config()])
    assert only_error(result)["code"] == 401


def test_customer_id_mismatch_gets_401(live, customer_with_credits, outsider):
    headers = {
        "x-api-key": customer_with_credits.secret,
        "x-customer-id": str(outsider.customer.public_id),
    }
    error = only_error(run(live, headers, [config()]))
    assert (error["code"], error["message"]) == (401, "Invalid API key or customer ID")


def test_bearer_and_query_credentials_are_accepted(live, customer_with_credits):
    c = customer_with_credits
    bearer = asyncio.run(stream(ws_url(live), {"Authorization": f"Bearer {c.secret}"}, [config()]))
    assert not bearer.errors and bearer.messages[-1]["eos"]
    query = asyncio.run(
        stream(
            ws_url(live) + f"?api_key={c.secret}&customer_id={c.customer.public_id}", {}, [config()]
        )
    )
    assert query.messages[-1]["eos"]


def test_inactive_customer_gets_403(live, customer_with_credits):
    services.set_active(customer_with_credits.customer, False)
    result = run(live, headers_for(customer_with_credits), [config()])
    assert only_error(result)["code"] == 403 and result.close_code == 4403


def test_zero_balance_gets_402(live, customer_without_credits):
    result = run(live, headers_for(customer_without_credits), [config()])
    assert only_error(result)["code"] == 402 and result.close_code == 4402


def test_idle_connection_is_closed_with_an_error(live, customer_with_credits):
    async def idle():
        async with websockets.connect(
            ws_url(live), additional_headers=headers_for(customer_with_credits)
        ) as ws:
            await ws.send(config())
            started = time.monotonic()
            message = json.loads(await ws.recv())
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            return message, time.monotonic() - started, ws.close_code

    message, waited, code = asyncio.run(idle())
    assert message["code"] == 408 and message["error"] == "Idle timeout"
    assert 2.5 <= waited <= 6, "the test server's idle timeout is 3 s"
    assert code == 4408


@pytest.mark.parametrize(
    ("persona", "status"), [("no_key", 401), ("inactive", 403), ("broke", 402), ("mismatch", 401)]
)
def test_handshake_is_refused_with_http_status_where_the_server_allows_it(
    uvicorn_server,
    transactional_db,
    customer_with_credits,
    customer_without_credits,
    persona,
    status,
):
    """uvicorn offers the WebSocket Denial Response extension: refuse before 101."""
    headers = {
        "no_key": {},
        "inactive": headers_for(customer_with_credits),
        "broke": headers_for(customer_without_credits),
        "mismatch": {"x-api-key": customer_with_credits.secret, "x-customer-id": str(uuid.uuid4())},
    }[persona]
    if persona == "inactive":
        services.set_active(customer_with_credits.customer, False)

    async def handshake():
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(ws_url(uvicorn_server), additional_headers=headers):
                pass
        return refused.value.response

    response = asyncio.run(handshake())
    assert response.status_code == status
    body = json.loads(response.body)
    assert body["code"] == status and body["error"]


def test_accepted_handshake_under_uvicorn_streams_normally(
    uvicorn_server, transactional_db, customer_with_credits
):
    result = asyncio.run(
        stream(ws_url(uvicorn_server), headers_for(customer_with_credits), [config()])
    )
    assert result.messages[-1]["eos"] and result.close_code == 1000
    assert httpx.get(f"{uvicorn_server.url}/healthz").status_code == 200
