"""POST /analyze refusals, in seed 000's format: {"detail": ...} with its statuses."""

import os
import uuid
from decimal import Decimal

import httpx
import pytest

from billing import services as billing
from sessions_app.models import Session
from tests.support import audio as media
from tests.support.analytics import analyze, upload
from tests.support.servers import AsgiServer, server_env

pytestmark = pytest.mark.integration

INVALID_KEY = {"detail": "Invalid or missing API key"}


def set_balance(customer, credits: str) -> None:
    billing.set_balance(
        customer, Decimal(credits), reason="test", idempotency_key=f"test-{uuid.uuid4()}"
    )


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "not-a-key"}], ids=["no key", "wrong key"])
def test_missing_or_wrong_key_is_401_invalid_or_missing_api_key(
    http, customer_with_credits, headers
):
    response = http.post("/analyze", headers=headers, files=upload("a.wav", media.silence(1)))
    assert response.status_code == 401
    assert response.json() == INVALID_KEY
    assert not Session.objects.exists()


def test_silence_is_400_no_utterances(http, customer_with_credits, silence_wav):
    response = analyze(http, customer_with_credits, "silence.wav", silence_wav)
    assert response.status_code == 400
    assert response.json() == {"detail": "No utterances detected in uploaded media"}
    session = Session.objects.get(customer=customer_with_credits.customer)
    assert (session.kind, session.status) == ("analysis", "failed")
    last = session.events.order_by("-seq").first()
    assert (last.type, last.payload["code"]) == ("error", "NO_UTTERANCES")


def test_corrupt_file_is_400_invalid_file_format(http, customer_with_credits):
    response = analyze(http, customer_with_credits, "call.mp3", os.urandom(8192))
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Invalid file format"), response.text
    assert not Session.objects.exists(), "refused before a session opens"
    assert billing.balance(customer_with_credits.customer) == Decimal("100")


def test_empty_file_is_400(http, customer_with_credits):
    response = analyze(http, customer_with_credits, "empty.wav", b"")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Invalid file format"), response.text


@pytest.mark.parametrize(
    "request_",
    [
        {"data": {"context": "no file here"}},
        {"files": {"media": ("a.wav", media.silence(1), "audio/wav")}},
    ],
    ids=["no multipart file", "file under another name"],
)
def test_missing_file_field_is_400(http, customer_with_credits, request_):
    response = http.post(
        "/analyze", headers={"X-API-Key": customer_with_credits.secret}, **request_
    )
    assert response.status_code == 400
    assert "file" in response.json()["detail"], response.text


def test_zero_balance_is_402(http, customer_without_credits):
    response = analyze(http, customer_without_credits, "jfk.ogg", media.fixture("jfk.ogg"))
    assert response.status_code == 402
    assert response.json()["detail"].startswith("Insufficient credits")
    assert not Session.objects.exists()


def test_file_longer_than_the_balance_covers_is_402_and_nothing_is_billed(
    http, customer_with_credits
):
    customer = customer_with_credits.customer
    set_balance(customer, "5")
    response = analyze(http, customer_with_credits, "jfk.ogg", media.fixture("jfk.ogg"))  # 11 s
    assert response.status_code == 402
    assert response.json()["detail"].startswith("Insufficient credits"), response.text
    assert billing.balance(customer) == Decimal("5")
    assert not Session.objects.exists()


def test_file_just_over_the_balance_is_refused_before_anything_is_billed(
    http, customer_with_credits
):
    customer = customer_with_credits.customer
    set_balance(customer, "4.2")
    audio = media.padded("speech.wav", 4.4)  # 3.6 s of speech, then silence: 4.4 s in all
    response = analyze(http, customer_with_credits, "speech.wav", audio)
    assert response.status_code == 402, response.text
    assert billing.balance(customer) == Decimal("4.2")


@pytest.mark.parametrize("where", ["data", "params"])
def test_unknown_config_id_is_404(http, customer_with_credits, where):
    response = analyze(
        http,
        customer_with_credits,
        "speech.wav",
        media.fixture("speech.wav"),
        **{where: {"config_id": "cfg_does_not_exist"}},
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "Config not found"}


@pytest.mark.parametrize("where", ["data", "params"])
def test_another_tenants_config_id_is_404_as_if_unknown(
    http, customer_with_credits, outsider, where
):
    response = analyze(
        http,
        customer_with_credits,
        "speech.wav",
        media.fixture("speech.wav"),
        **{where: {"config_id": outsider.config.public_id}},
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "Config not found"}
    assert not Session.objects.exists()


@pytest.mark.parametrize("path", ["/analyze", "/analyze/stream", "/analyze/segment"])
def test_get_is_405_with_a_json_detail(http, customer_with_credits, path):
    response = http.get(path, headers={"X-API-Key": customer_with_credits.secret})
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"detail": 'Method "GET" not allowed.'}


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_405_names_the_method_used_and_allows_post(http, customer_with_credits, method):
    response = http.request(method, "/analyze", headers={"X-API-Key": customer_with_credits.secret})
    assert response.status_code == 405
    assert response.json() == {"detail": f'Method "{method}" not allowed.'}
    assert response.headers.get("allow") == "POST"


@pytest.fixture(scope="module")
def one_megabyte_limit(django_db_setup, django_db_blocker, tmp_path_factory):
    """A second daphne whose MAX_FILE_SIZE_MB is 1, for the FILE_TOO_LARGE refusal."""
    server = AsgiServer(
        server_env(MAX_FILE_SIZE_MB="1"), tmp_path_factory.mktemp("small") / "daphne.log"
    )
    yield server
    server.stop()


def test_file_over_max_file_size_is_400_file_too_large(
    one_megabyte_limit, transactional_db, customer_with_credits
):
    big = media.fixture("speech.wav") + b"\0" * (1024 * 1024)  # a real WAV, padded past 1 MB
    with httpx.Client(base_url=one_megabyte_limit.url, timeout=30) as client:
        response = analyze(client, customer_with_credits, "big.wav", big)
    assert response.status_code == 400, "an oversized upload is 400, not 413"
    detail = response.json()["detail"]
    assert detail.startswith("File too large") and "FILE_TOO_LARGE" in detail, detail
    assert not Session.objects.exists()
    assert billing.balance(customer_with_credits.customer) == Decimal("100")
