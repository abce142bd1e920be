"""POST /analyze/stream and POST /analyze?stream=true: Realtime Replay over SSE."""

import json
import re

import httpx
import pytest
from django.conf import settings

from billing import services as billing
from sessions_app.models import Session, SessionEvent
from tests.support import audio as media
from tests.support.analytics import api, upload
from tests.support.sse import SSEParser, Stream, post_stream

pytestmark = pytest.mark.integration

EMOTIONS = {"anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"}
# One letter per event; status(processing) progress ticks are dropped before matching.
CODES = {"final_transcript": "F", "emotion": "E", "cognitive": "C", "transition": "T"}
CODES |= {"moment": "M", "summary_update": "U", "done": "D", "error": "X"}
DOCUMENTED_ORDER = re.compile(r"S(FEC[TM]*)+UKD")


def replay(http, customer, name: str, content: bytes, path: str = "/analyze/stream", **request):
    return post_stream(http, path, headers=api(customer), files=upload(name, content), **request)


def encoded(stream: Stream) -> str:
    letters = []
    for event in stream.events:
        if event.event == "status":
            phase = event.json()["phase"]
            letters.append({"starting": "S", "completed": "K"}.get(phase, ""))
        else:
            letters.append(CODES.get(event.event, "?"))
    return "".join(letters)


def assert_numbered(stream: Stream) -> list[int]:
    ids = []
    for event in stream.events:
        assert event.id is not None and event.id.isdigit(), f"{event.event} has id {event.id!r}"
        ids.append(int(event.id))
    assert ids == sorted(set(ids)), f"ids must increase: {ids}"
    return ids


def test_replay_streams_the_documented_event_order(http, customer_with_credits):
    stream = replay(http, customer_with_credits, "jfk.ogg", media.fixture("jfk.ogg"))
    assert stream.status_code == 200, stream.body
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert DOCUMENTED_ORDER.fullmatch(encoded(stream)), stream.types
    assert stream.events[0].json()["phase"] == "starting"
    assert stream.events[-1].event == "done"
    statuses = stream.of("status")
    assert [s["phase"] for s in statuses][-1] == "completed"
    progress = [s["progress"] for s in statuses]
    assert progress == sorted(progress) and progress[0] >= 0 and progress[-1] == 1
    done = stream.events[-1].json()
    assert done["conversation_id"].startswith("analysis_")
    assert_numbered(stream)
    assert "stream open" in stream.comments, "the opening comment is sent, and skipped"
    text = media.normalised(" ".join(t["text"] for t in stream.of("final_transcript")))
    assert media.JFK_LINE in text, text


def test_every_utterance_is_followed_by_its_emotion_and_cognitive_events(
    http, customer_with_credits
):
    stream = replay(http, customer_with_credits, "call.flac", media.fixture("two_speakers.flac"))
    assert stream.status_code == 200, stream.body
    current = None
    for event in stream.events:
        payload = event.json()
        if event.event == "final_transcript":
            current = payload
            assert {"utterance_id", "speaker", "t_start", "t_end", "text"} <= set(payload)
            assert payload["t_start"] < payload["t_end"] and payload["text"].strip()
        elif event.event == "emotion":
            assert payload["utterance_id"] == current["utterance_id"]
            assert payload["speaker_id"] == current["speaker"]
        elif event.event == "cognitive":
            assert payload["utterance_id"] == current["utterance_id"]
    speakers = {t["speaker"] for t in stream.of("final_transcript")}
    assert speakers == {"Speaker_0", "Speaker_1"}


def test_emotion_event_carries_pad_scores_and_a_seven_way_distribution(http, customer_with_credits):
    stream = replay(http, customer_with_credits, "call.flac", media.fixture("two_speakers.flac"))
    emotions = stream.of("emotion")
    assert emotions and len(emotions) == len(stream.of("final_transcript"))
    for payload in emotions:
        assert payload["utterance_id"] and payload["speaker_id"].startswith("Speaker_")
        distribution = payload["emotion"]
        assert set(distribution) == EMOTIONS, sorted(distribution)
        assert all(0 <= p <= 1 for p in distribution.values())
        assert sum(distribution.values()) == pytest.approx(1.0, abs=0.01)
        assert set(payload["scores"]) == {"valence", "arousal", "dominance"}
        assert all(0 <= v <= 1 for v in payload["scores"].values()), payload["scores"]
        assert 0 <= payload["confidence"] <= 1
        assert payload["stability"] == "final"


def test_cognitive_event_carries_engagement_focus_load_signals_and_rationale(
    http, customer_with_credits
):
    stream = replay(http, customer_with_credits, "speech.wav", media.fixture("speech.wav"))
    cognitive = stream.of("cognitive")
    assert cognitive and len(cognitive) == len(stream.of("final_transcript"))
    for payload in cognitive:
        for name in ("engagement", "focus", "cognitive_load"):
            assert isinstance(payload[name], int | float) and 0 <= payload[name] <= 1, name
        assert isinstance(payload["signals"], list)
        assert all(isinstance(signal, str) for signal in payload["signals"])
        assert isinstance(payload["rationale"], str) and payload["rationale"]


def test_stream_query_flag_on_analyze_behaves_like_the_stream_endpoint(http, customer_with_credits):
    audio = media.fixture("speech.wav")
    alias = replay(
        http, customer_with_credits, "s.wav", audio, "/analyze", params={"stream": "true"}
    )
    direct = replay(http, customer_with_credits, "s.wav", audio)
    assert alias.status_code == direct.status_code == 200
    assert alias.headers["content-type"].startswith("text/event-stream")
    assert DOCUMENTED_ORDER.fullmatch(encoded(alias)), alias.types
    assert alias.types == direct.types
    assert_numbered(alias)
    strip = lambda s: [{**t, "utterance_id": None} for t in s.of("final_transcript")]  # noqa: E731
    assert strip(alias) == strip(direct)
    kinds = dict(Session.objects.filter(status="completed").values_list("conversation_id", "kind"))
    for stream in (alias, direct):
        assert kinds[stream.of("done")[0]["conversation_id"]] == "replay"


def test_silence_ends_the_stream_with_a_no_utterances_error_event(
    http, customer_with_credits, silence_wav
):
    stream = replay(http, customer_with_credits, "silence.wav", silence_wav)
    assert stream.status_code == 200, "the stream had started before the audio was read"
    last = stream.events[-1]
    assert last.event == "error"
    payload = last.json()
    assert payload["code"] == "NO_UTTERANCES"
    assert payload["message"] == "No utterances detected in uploaded media"
    assert "done" not in stream.types and "final_transcript" not in stream.types
    assert_numbered(stream)
    session = Session.objects.get(customer=customer_with_credits.customer)
    assert (session.kind, session.status) == ("replay", "failed")


def test_streamed_events_are_the_persisted_session_events(http, customer_with_credits):
    stream = replay(http, customer_with_credits, "jfk.ogg", media.fixture("jfk.ogg"))
    assert stream.status_code == 200, stream.body
    conversation_id = stream.of("done")[0]["conversation_id"]
    session = Session.objects.get(conversation_id=conversation_id)
    assert (session.kind, session.status) == ("replay", "completed")
    persisted = [
        (e.seq, e.type, e.payload)
        for e in SessionEvent.objects.filter(session=session).order_by("seq")
    ]
    streamed = [(int(e.id), e.event, e.json()) for e in stream.events]
    assert streamed == persisted
    assert session.last_event_seq == persisted[-1][0]
    journal = settings.DATA_DIR / "conversations" / conversation_id / "events.jsonl"
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [(line["id"], line["event"], line["data"]) for line in lines] == streamed
    # Replay is billed like batch: 1 credit per second of audio.
    assert float(billing.balance(customer_with_credits.customer)) == pytest.approx(89.0, abs=0.1)


@pytest.mark.parametrize("path", ["/analyze/stream", "/analyze?stream=true"])
def test_refusals_before_the_stream_starts_are_plain_json(http, customer_without_credits, path):
    refused = replay(http, customer_without_credits, "jfk.ogg", media.fixture("jfk.ogg"), path)
    assert refused.status_code == 402
    assert refused.headers["content-type"] == "application/json"
    assert json.loads(refused.body)["detail"].startswith("Insufficient credits")
    anonymous = post_stream(http, path, files=upload("jfk.ogg", media.fixture("jfk.ogg")))
    assert anonymous.status_code == 401
    assert json.loads(anonymous.body) == {"detail": "Invalid or missing API key"}


def test_sse_parser_follows_the_event_stream_rules():
    """The reader itself: comments, multi-line data, ids, the optional space, dispatch."""
    lines = [
        ": stream open",
        "",
        "id: 7",
        "event: status",
        'data: {"phase":',
        'data:"starting"}',
        "",
        ":keepalive",
        "data: no event name",
        "",
        "event: lonely",
        "",
        "retry: 1500",
        "id: 8",
        "event: done",
        "data: {}",
        "",
        "data: never terminated",
    ]
    parser = SSEParser()
    events = list(parser.events(lines))
    assert [(e.id, e.event) for e in events] == [("7", "status"), (None, "message"), ("8", "done")]
    assert events[0].json() == {"phase": "starting"}
    assert events[1].last_event_id == "7" and events[1].data == "no event name"
    assert parser.comments == ["stream open", "keepalive"] and parser.retry == 1500


def test_stream_still_ends_when_the_failure_cannot_be_recorded(http, customer_with_credits):
    """The session row disappears mid-run (a DB failure): the client must not hang."""
    headers = {"Accept": "text/event-stream", **api(customer_with_credits)}
    files = upload("speech.wav", media.fixture("speech.wav"))
    parser, events = SSEParser(), []
    try:
        with http.stream("POST", "/analyze/stream", headers=headers, files=files, timeout=5) as r:
            for line in r.iter_lines():
                event = parser.feed(line)
                if event is None:
                    continue
                events.append(event)
                if event.event == "status" and event.json()["phase"] == "processing":
                    # Transcription takes a moment: the next emit finds no session.
                    Session.objects.filter(customer=customer_with_credits.customer).delete()
    except httpx.ReadTimeout:
        pytest.fail(f"the stream never ended after {[e.event for e in events]}")
    assert events[-1].event == "error", [e.event for e in events]
