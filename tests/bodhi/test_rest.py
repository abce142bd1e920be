"""POST /api/transcribe as Bodhi's non-streaming client uses it."""

import json
import uuid

import pytest

from billing import services as billing
from sessions_app.models import Session
from tests.support import FIXTURES
from tests.support.bodhi import headers_for

pytestmark = pytest.mark.integration


def post(http, headers, *, audio: bytes | None, filename="loan.wav", **fields):
    data = {"transaction_id": str(uuid.uuid4()), "model": "en-general-v2-8khz", **fields}
    files = {"audio_file": (filename, audio, "audio/wav")} if audio is not None else None
    return http.post("/api/transcribe", headers=headers, data=data, files=files)


def test_wav_file_is_transcribed(http, customer_with_credits, jfk_wav):
    response = post(http, headers_for(customer_with_credits), audio=jfk_wav, aux="TRUE")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success" and uuid.UUID(body["call_id"])
    assert "ask not what your country can do for you" in body["text"].lower().replace(",", "")
    assert set(body["aux_info"]) == {"request_time", "received_request_time"}
    session = Session.objects.get(kind="asr_batch", customer=customer_with_credits.customer)
    assert session.status == "completed" and float(session.billed_seconds) == pytest.approx(
        12.0, abs=0.05
    )
    assert float(billing.balance(customer_with_credits.customer)) == pytest.approx(88.0, abs=0.05)


def test_compressed_formats_and_hotwords_json(http, customer_with_credits):
    audio = (FIXTURES / "jfk.ogg").read_bytes()
    hotwords = json.dumps([{"phrase": "Americans"}, {"phrase": "fellow", "score": 4.5}])
    response = post(
        http, headers_for(customer_with_credits), audio=audio, filename="jfk.ogg", hotwords=hotwords
    )
    assert response.status_code == 200, response.text
    assert "americans" in response.json()["text"].lower()


def test_parse_number_turns_spoken_numbers_into_digits(http, customer_with_credits, tmp_path):
    import subprocess

    wav = tmp_path / "n.wav"
    subprocess.run(
        ["espeak-ng", "-w", str(wav), "the loan is twenty five thousand rupees"], check=True
    )
    response = post(
        http, headers_for(customer_with_credits), audio=wav.read_bytes(), parse_number="true"
    )
    assert response.status_code == 200, response.text
    assert "25000" in response.json()["text"].replace(",", "")


@pytest.mark.parametrize(
    ("fields", "audio", "code", "message"),
    [
        ({}, None, 400, "audio_file is required (multipart/form-data)"),
        ({"transaction_id": "nope"}, b"RIFF", 400, "transaction_id must be a UUID"),
        (
            {"model": "zz-banking-v2-8khz"},
            b"RIFF",
            400,
            "model 'zz-banking-v2-8khz' is not available",
        ),
        ({"hotwords": "[{"}, b"RIFF", 400, "hotwords must be a JSON array of {phrase, score}"),
    ],
)
def test_bad_requests_get_400_in_bodhi_format(
    http, customer_with_credits, fields, audio, code, message
):
    response = post(http, headers_for(customer_with_credits), audio=audio, **fields)
    assert response.status_code == code
    body = response.json()
    assert (body["code"], body["message"]) == (code, message) and body["timestamp"].endswith("Z")


def test_corrupt_audio_gets_400(http, customer_with_credits):
    response = post(http, headers_for(customer_with_credits), audio=b"RIFF\x00\x00garbage" * 100)
    assert response.status_code == 400 and response.json()["error"] == "Invalid audio"


def test_auth_errors_in_bodhi_format(
    http, customer_with_credits, customer_without_credits, jfk_wav
):
    assert post(http, {}, audio=jfk_wav).json()["code"] == 401
    assert post(http, {"x-api-key": "oak_bad"}, audio=jfk_wav).status_code == 401
    broke = post(http, headers_for(customer_without_credits), audio=jfk_wav)
    assert broke.status_code == 402 and broke.json()["code"] == 402


def test_file_longer_than_the_balance_is_refused_before_processing(
    http, customer_without_credits, jfk_wav
):
    billing.grant(customer_without_credits.customer, 5, reason="t", idempotency_key="five")
    response = post(http, headers_for(customer_without_credits), audio=jfk_wav)
    assert response.status_code == 402
    assert billing.balance(customer_without_credits.customer) == 5
