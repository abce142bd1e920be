"""Live capture as the cookbook's clients use it, against a real daphne."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from billing import services as billing
from billing.models import LedgerEntry
from sessions_app.models import LiveCapture, SessionEvent
from sessions_app.services.artifacts import ArtifactStore
from tests.support.live import control, key_headers, start_session, upload, upload_all

pytestmark = pytest.mark.integration


def test_start_returns_the_session_object(http, customer_with_credits):
    session = start_session(http, customer_with_credits, goal="coach the rep", ttl_seconds=1200)
    assert session["session_id"].startswith("live_") and session["conversation_id"].startswith(
        "liveconv_"
    )
    sid = session["session_id"]
    assert session["chunk_endpoint"] == f"/analyze/live/{sid}/chunk"
    assert session["events_endpoint"] == f"/analyze/live/{sid}/events"
    assert session["control_endpoint"] == f"/analyze/live/{sid}/control"
    assert session["next_chunk_seq"] == 0 and session["status"] == "waiting_media"
    expires = timezone.datetime.fromisoformat(session["expires_at"].replace("Z", "+00:00"))
    assert timedelta(seconds=1190) < expires - timezone.now() <= timedelta(seconds=1200)


def test_cookbook_runner_reads_every_event_to_done(
    http, customer_with_credits, reader_for, jfk_wav
):
    c = customer_with_credits
    session = start_session(http, c)
    reader = reader_for(session, c).start()
    upload_all(http, c, session, jfk_wav, size=16000, pace=0.45)  # about real time
    assert control(http, c, session, "finalize").json()["status"] == "finalizing"
    reader.wait()
    types = reader.types
    assert types[0] == "status" and reader.of("status")[0]["phase"] == "waiting_media"
    assert "partial_transcript" in types, "interim text while speech is open"
    assert types[-3:] == ["summary_update", "status", "done"]
    assert reader.of("done") == [{"conversation_id": session["conversation_id"]}]
    text = " ".join(f["text"] for f in reader.of("final_transcript")).lower().replace(",", "")
    assert "fellow americans" in text and "ask what you can do for your country" in text
    for final in reader.of("final_transcript"):
        assert final["speaker"] == "Speaker_0" and final["t_end"] > final["t_start"]
    finals_at = [i for i, t in enumerate(types) if t == "final_transcript"]
    for i in finals_at:
        assert types[i + 1 : i + 3] == ["emotion", "cognitive"]
    ids = [int(e.id) for e in reader.events]
    assert ids == list(range(ids[0], ids[0] + len(ids))), "every event has an id, in order"
    for partial in reader.of("partial_transcript"):
        assert set(partial) >= {"partial_id", "text", "is_final"} and partial["is_final"] is False


def test_artifacts_and_billing_of_a_finished_session(
    http, customer_with_credits, reader_for, jfk_wav
):
    c = customer_with_credits
    session = start_session(http, c)
    reader = reader_for(session, c).start()
    upload_all(http, c, session, jfk_wav)
    control(http, c, session, "finalize")
    reader.wait()
    store = ArtifactStore(session["conversation_id"])
    for name in (
        "timeline.json",
        "summary.json",
        "segmentation.json",
        "agent_outputs.json",
        "events.jsonl",
    ):
        assert store.path(name).exists(), name
    assert len(list(store.path("chunks").iterdir())) == 13  # 384 044 bytes in 32 000-byte chunks
    billed = sum(-e.amount for e in LedgerEntry.objects.filter(customer=c.customer, kind="usage"))
    assert 11.9 <= billed <= 12.1 and billing.balance(c.customer) == 100 - billed


def test_chunks_must_come_in_sequence(http, customer_with_credits, jfk_wav):
    c = customer_with_credits
    session = start_session(http, c)
    assert upload(http, c, session, 0, jfk_wav[:32000]).json() == {
        "received_bytes": 32000,
        "next_chunk_seq": 1,
    }
    skipped = upload(http, c, session, 2, jfk_wav[32000:64000])
    assert skipped.status_code == 409 and skipped.json() == {"detail": "Expected chunk_seq=1"}
    assert upload(http, c, session, 0, b"different bytes").status_code == 409


def test_retry_of_the_last_chunk_is_acknowledged_once(http, customer_with_credits, jfk_wav):
    c = customer_with_credits
    session = start_session(http, c)
    first = upload(http, c, session, 0, jfk_wav[:32000]).json()
    again = upload(http, c, session, 0, jfk_wav[:32000])
    assert again.status_code == 200 and again.json() == first
    capture = LiveCapture.objects.get(public_id=session["session_id"])
    assert capture.received_bytes == 32000 and capture.next_chunk_seq == 1
    assert len(list(ArtifactStore(session["conversation_id"]).path("chunks").iterdir())) == 1


def test_empty_or_malformed_chunk_is_400(http, customer_with_credits):
    c = customer_with_credits
    session = start_session(http, c)
    empty = upload(http, c, session, 0, b"")
    assert empty.status_code == 400 and empty.json()["detail"].startswith("Empty chunk")
    bad_seq = http.post(
        session["chunk_endpoint"],
        headers=key_headers(c),
        data={"chunk_seq": "x"},
        files={"chunk": ("c", b"1")},
    )
    assert bad_seq.status_code == 400


def test_multipart_body_without_a_boundary_is_a_json_400(http, customer_with_credits):
    # daphne's twisted layer used to answer this itself, with an empty bare 400.
    c = customer_with_credits
    session = start_session(http, c)
    response = http.post(
        session["chunk_endpoint"],
        headers={**key_headers(c), "Content-Type": "multipart/form-data"},
        content=b'--X\r\nContent-Disposition: form-data; name="chunk_seq"\r\n\r\n0\r\n--X--\r\n',
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Malformed multipart body")


def test_finalized_session_refuses_chunks_and_a_second_finalize(
    http, customer_with_credits, jfk_wav
):
    c = customer_with_credits
    session = start_session(http, c)
    upload(http, c, session, 0, jfk_wav[:32000])
    assert control(http, c, session, "finalize").status_code == 200
    late = upload(http, c, session, 1, jfk_wav[32000:64000])
    assert late.status_code == 409 and late.json() == {"detail": "Session already finalized"}
    assert control(http, c, session, "finalize").status_code == 409


def test_unknown_and_other_tenants_sessions_are_404(http, customer_with_credits, outsider):
    theirs = start_session(http, outsider)
    for path in ("/analyze/live/live_nope/control", theirs["control_endpoint"]):
        response = http.post(
            path, headers=key_headers(customer_with_credits), json={"action": "keepalive"}
        )
        assert response.status_code == 404 and response.json() == {"detail": "Unknown live session"}
    assert upload(http, customer_with_credits, theirs, 0, b"data").status_code == 404
    events = http.get(theirs["events_endpoint"], headers=key_headers(customer_with_credits))
    assert events.status_code == 404


def test_only_one_sse_consumer_at_a_time_and_the_slot_frees_on_disconnect(
    http, customer_with_credits, reader_for
):
    c = customer_with_credits
    session = start_session(http, c)
    first = reader_for(session, c).start()
    first.wait_for("status")
    second = http.get(session["events_endpoint"], headers=key_headers(c))
    assert second.status_code == 409
    assert second.json() == {
        "detail": "Only one SSE consumer may be attached to a live session at a time"
    }
    control(http, c, session, "cancel", reason="operator hung up")
    first.wait()
    again = reader_for(session, c)
    deadline = time.monotonic() + 5
    while True:  # the slot is freed promptly once the first consumer is gone
        again.start().wait()
        if again.status_code == 200 or time.monotonic() > deadline:
            break
        again = reader_for(session, c)
        time.sleep(0.2)
    assert again.status_code == 200


def test_reattaching_with_last_event_id_replays_what_was_missed(
    http, customer_with_credits, reader_for, jfk_wav
):
    c = customer_with_credits
    session = start_session(http, c)
    first = reader_for(session, c, stop_after=2).start()
    upload_all(http, c, session, jfk_wav)
    first.wait()
    last_seen = int(first.events[-1].id)
    control(http, c, session, "finalize")
    time.sleep(1.5)  # the first consumer's slot is released when its stream closes
    resumed = reader_for(session, c)
    resumed.headers = {**resumed.headers, "Last-Event-ID": str(last_seen)}
    resumed.start().wait()
    assert resumed.status_code == 200, resumed.body
    assert int(resumed.events[0].id) == last_seen + 1
    assert resumed.types[-1] == "done"
    persisted = list(
        SessionEvent.objects.filter(session__conversation_id=session["conversation_id"]).order_by(
            "seq"
        )
    )
    assert [e.seq for e in persisted] == [int(e.id) for e in first.events[:2]] + [
        int(e.id) for e in resumed.events
    ]


def test_cancel_sends_an_error_event_and_ends_the_stream(http, customer_with_credits, reader_for):
    c = customer_with_credits
    session = start_session(http, c)
    reader = reader_for(session, c).start()
    reader.wait_for("status")
    assert (
        control(http, c, session, "cancel", reason="caller hung up").json()["status"] == "cancelled"
    )
    reader.wait()
    error = reader.of("error")[-1]
    assert error["code"] == "STREAM_FAILURE" and "caller hung up" in error["message"]


def test_keepalive_extends_and_expiry_answers_404_with_an_error_event(
    http, customer_with_credits, reader_for
):
    c = customer_with_credits
    session = start_session(http, c, ttl_seconds=60)
    extended = control(http, c, session, "keepalive").json()
    assert extended["status"] == "waiting_media" and extended["expires_at"] >= session["expires_at"]
    reader = reader_for(session, c).start()
    reader.wait_for("status")
    LiveCapture.objects.filter(public_id=session["session_id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    reader.wait(timeout=15)
    assert reader.of("error")[-1] == {"code": "STREAM_FAILURE", "message": "Live session expired"}
    assert upload(http, c, session, 0, b"late").status_code == 404
    assert control(http, c, session, "keepalive").status_code == 404


def test_ttl_outside_60_to_3600_is_400(http, customer_with_credits):
    for ttl in (59, 3601, "soon"):
        response = http.post(
            "/analyze/live/start",
            headers=key_headers(customer_with_credits),
            json={"ttl_seconds": ttl},
        )
        assert response.status_code == 400


def test_start_with_zero_balance_is_402(http, customer_without_credits):
    response = http.post(
        "/analyze/live/start", headers=key_headers(customer_without_credits), json={}
    )
    assert response.status_code == 402


def test_credits_running_out_end_the_session_with_insufficient_credits(
    http, customer_without_credits, reader_for, jfk_wav
):
    c = customer_without_credits
    billing.grant(c.customer, 3, reason="t", idempotency_key="three")
    session = start_session(http, c)
    reader = reader_for(session, c).start()
    upload_all(http, c, session, jfk_wav, size=32000)
    reader.wait()
    assert reader.of("error")[-1]["code"] == "INSUFFICIENT_CREDITS"
    assert 0 <= billing.balance(c.customer) <= 3


def test_live_disabled_answers_404(settings, async_client, customer_with_credits):
    settings.ENABLE_LIVE_STREAMING = False
    import asyncio

    response = asyncio.run(
        async_client.post(
            "/analyze/live/start",
            {},
            content_type="application/json",
            headers=key_headers(customer_with_credits),
        )
    )
    assert response.status_code == 404 and "ENABLE_LIVE_STREAMING" in response.json()["detail"]
