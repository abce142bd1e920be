"""POST /analyze/segment: re-segment a conversation from its timeline, without the media."""

import json

import pytest

from billing import services as billing
from tests.analytics.test_analyze import assert_segmentation
from tests.support import audio as media
from tests.support.analytics import analyze, api

pytestmark = pytest.mark.integration


def segment(http, headers: dict, body: bytes):
    return http.post(
        "/analyze/segment",
        headers={**headers, "Content-Type": "application/json"},
        content=body,
    )


def test_timeline_from_analyze_is_resegmented(http, customer_with_credits):
    analysed = analyze(http, customer_with_credits, "call.flac", media.fixture("two_speakers.flac"))
    assert analysed.status_code == 200, analysed.text
    timeline = analysed.json()["timeline"]
    balance = billing.balance(customer_with_credits.customer)
    body = json.dumps({"timeline": timeline, "context": "highlight trust-building moments"})
    response = segment(http, api(customer_with_credits), body.encode())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    result = response.json()
    assert set(result) == {"segmentation"}
    segmentation = result["segmentation"]
    assert_segmentation(segmentation)
    ids = [entry["utterance_id"] for entry in timeline]
    phases = segmentation["phases"]
    assert phases[0]["start_utterance_id"] == ids[0]
    assert phases[-1]["end_utterance_id"] == ids[-1]
    assert sum(phase["utterance_count"] for phase in phases) == len(timeline)
    assert billing.balance(customer_with_credits.customer) == balance, "segmenting is free"


def test_context_is_optional(http, customer_with_credits):
    analysed = analyze(http, customer_with_credits, "speech.wav", media.fixture("speech.wav"))
    timeline = analysed.json()["timeline"]
    response = segment(
        http, api(customer_with_credits), json.dumps({"timeline": timeline}).encode()
    )
    assert response.status_code == 200, response.text
    assert_segmentation(response.json()["segmentation"])


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{}", "Missing timeline"),
        (b'{"context": "only a focus"}', "Missing timeline"),
        (b'{"timeline": []}', "Missing timeline"),
        (b'{"timeline": null}', "Missing timeline"),
        (b'{"timeline": ', "JSON parse error"),
        (b"not json at all", "JSON parse error"),
        (b'[{"utterance_id": "u0"}]', "Expected a JSON object"),
        (b'{"timeline": "utt_0"}', "Invalid timeline"),
        (b'{"timeline": [42]}', "Invalid timeline"),
        (b'{"timeline": [{"speaker": "Speaker_0"}]}', "Invalid timeline"),
    ],
    ids=[
        "empty object",
        "missing timeline",
        "empty timeline",
        "null timeline",
        "truncated JSON",
        "not JSON",
        "array body",
        "timeline not a list",
        "entry not an object",
        "entry without its fields",
    ],
)
def test_bad_bodies_are_400_with_a_detail(http, customer_with_credits, body, detail):
    response = segment(http, api(customer_with_credits), body)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail), response.text


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}], ids=["no key", "wrong key"])
def test_segment_without_a_valid_key_is_401(http, customer_with_credits, headers):
    timeline = [
        {"utterance_id": "u0", "speaker": "Speaker_0", "t_start": 0, "t_end": 1, "text": "hi"}
    ]
    response = segment(http, headers, json.dumps({"timeline": timeline}).encode())
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or missing API key"}
